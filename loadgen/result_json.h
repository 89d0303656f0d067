// A run's result as JSON, with `vllm bench serve`'s key names (duration, completed,
// total_input_tokens, request_throughput, request_goodput, output_throughput,
// total_token_throughput, mean_/median_/std_/p90_/p95_/p99_ ttft/tpot/itl/e2el _ms, input_lens,
// output_lens, ttfts, itls, errors) so notebooks written for it read ours, plus loadgen's own:
// sent, failed, errors_by_code, achieved_request_rate, the SLOs and every per-request record
// ("requests"). Stateless functions, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "loadgen/request_spec.h"
#include "loadgen/summary.h"
#include "nlohmann/json.hpp"

namespace baton::loadgen {

// How the run was driven, echoed into the result.
struct RunDescription {
  std::string label;
  std::string backend;          // "grpc" or "openai"
  std::string arrivals;         // "poisson", "fixed" or "closed"
  double request_rate = 0;      // open loop
  int32_t max_concurrency = 0;  // closed loop
  int32_t burst = 1;
  Slo slo;
};

nlohmann::json ResultJson(const RunDescription& run, const Summary& summary,
                          const std::vector<RequestRecord>& records);

// The JSON of one record: times in seconds from the run's start.
nlohmann::json RecordJson(const RequestRecord& record);

}  // namespace baton::loadgen
