// What the router knows about one worker when it routes a request: the worker's latest load
// report, this router's own requests in flight there (load reports lag), and how much of the
// request's prompt the worker holds in its prefix cache. WorkerPool fills it; RoutingPolicy
// reads it.
#pragma once

#include <cstdint>
#include <string>

#include "proto/baton/internal/v1/worker.pb.h"

namespace baton::router {

struct WorkerView {
  std::string address;
  // The latest report (prefix_cache events are applied by the pool, not kept here).
  baton::internal::v1::WorkerLoad load;
  // Requests this router sent there that have not finished, and their prompt tokens.
  int32_t in_flight = 0;
  int64_t in_flight_prompt_tokens = 0;
  // Leading full blocks of the prompt that the worker reports cached, and the prompt's full
  // blocks, in the worker's block size.
  int32_t cached_prefix_blocks = 0;
  int32_t prompt_blocks = 0;
  int32_t block_size_tokens = 0;
  // The prompt being routed.
  int64_t prompt_tokens = 0;

  int64_t cached_prefix_tokens() const {
    return static_cast<int64_t>(cached_prefix_blocks) * block_size_tokens;
  }
};

}  // namespace baton::router
