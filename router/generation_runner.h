// How the router runs one token-level request on the workers: the seam between the request
// pipeline and worker choice. DisaggClient runs it on fixed workers; a worker pool with routing
// policies (the issue "Fleet") is another implementation.
//
// Threading: implementations are thread-safe; Generate blocks its caller.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/baton/internal/v1/decode.pb.h"
#include "proto/baton/internal/v1/prefill.pb.h"
#include "proto/baton/v1/inference.pb.h"

namespace baton::router {

struct DisaggRequest {
  std::string request_id;
  std::vector<int32_t> prompt;
  // An unset seed is replaced by a random one that both workers use.
  baton::v1::SamplingParams sampling;
  // Prefill on the decode worker instead of a prefill worker.
  bool local_prefill = false;
  // Lease on D's reserved blocks; 0 uses D's default.
  int64_t lease_millis = 0;
  // Deadline of the whole request (both calls).
  absl::Duration timeout = absl::InfiniteDuration();
};

struct DisaggResult {
  // Every generated token, the first (sampled by P in disaggregated mode) included.
  std::vector<int32_t> tokens;
  // Per token when logprobs were requested: the streamed messages' logprobs, concatenated (each
  // message carries one per token, the first token's included).
  std::vector<baton::v1::PositionLogprobs> logprobs;
  baton::internal::v1::DecodeFinished finished;
  // P's answer (first token id, KV bytes, timings); empty in colocated mode.
  baton::internal::v1::PrefillResponse prefill;
};

// Sees each token message as it arrives. Returning false cancels the request (Generate then
// returns kCancelled).
using TokenCallback = std::function<bool(const baton::internal::v1::DecodedTokens&)>;

class GenerationRunner {
 public:
  virtual ~GenerationRunner() = default;
  // Runs the request to its end, showing each token message to `on_tokens` as it arrives.
  virtual absl::StatusOr<DisaggResult> Generate(const DisaggRequest& request,
                                                const TokenCallback& on_tokens) = 0;
};

}  // namespace baton::router
