// The metrics of one run, computed from its per-request records the way `vllm bench serve` does:
//   TTFT  first output chunk - send;  E2EL  end - send;
//   TPOT  (E2EL - TTFT) / (output tokens - 1), per request with more than one output token;
//   ITL   the gaps between consecutive output chunks of a request, pooled over requests;
//   throughputs per second of the run's duration (first measured send to last measured end);
//   goodput: completed requests that met every SLO given (TTFT and/or TPOT; a request with one
//   output token has no TPOT and meets that SLO) per second.
// Percentiles interpolate linearly between order statistics (numpy's default), so p50 <= p90 <=
// p95 <= p99 <= max always holds. Warm-up records are left out. Stateless, thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loadgen/request_spec.h"

namespace baton::loadgen {

struct Slo {
  std::optional<double> ttft_ms;
  std::optional<double> tpot_ms;
};

// mean, median (p50), std, p90, p95, p99, min, max of one latency, in milliseconds.
struct LatencyStats {
  int64_t count = 0;
  double mean = 0, median = 0, std = 0, p90 = 0, p95 = 0, p99 = 0, min = 0, max = 0;
};

struct Summary {
  int64_t sent = 0;
  int64_t completed = 0;
  int64_t failed = 0;
  std::map<std::string, int64_t> errors_by_code;
  std::map<std::string, std::string> first_error_by_code;  // a message for each code
  double duration_s = 0;
  int64_t total_input_tokens = 0;   // of completed requests
  int64_t total_output_tokens = 0;  // of completed requests
  double request_throughput = 0;
  double output_throughput = 0;
  double total_token_throughput = 0;
  // Sends per second between the first and the last measured send.
  double achieved_request_rate = 0;
  int64_t good_requests = 0;
  std::optional<double> request_goodput;  // set when an SLO is
  LatencyStats ttft_ms, tpot_ms, itl_ms, e2el_ms;
};

// `p` in [0, 100] of `values` (sorted or not); 0 for none.
double Percentile(std::vector<double> values, double p);
LatencyStats ComputeLatencyStats(const std::vector<double>& values_ms);

// Whether a completed record met `slo`.
bool MeetsSlo(const RequestRecord& record, const Slo& slo);

// Per-request latencies (ms) of a record, when defined.
std::optional<double> TtftMs(const RequestRecord& record);
std::optional<double> TpotMs(const RequestRecord& record);

Summary Summarize(const std::vector<RequestRecord>& records, double duration_s, const Slo& slo);

}  // namespace baton::loadgen
