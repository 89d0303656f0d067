// What the loadgen binary does, apart from flag parsing: one run, a sweep of runs over rates or
// concurrencies, or a comparison of result files. Writes the terminal summary to `out`, the
// progress line to `progress` (when not null: the binary passes stdout only on a terminal), and
// the result files the options name.
//
// Threading: RunLoadgen blocks the caller for the whole run.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "loadgen/arrivals.h"
#include "loadgen/stream_client.h"
#include "loadgen/summary.h"

namespace baton::loadgen {

enum class Backend { kGrpc, kOpenAi };

struct LoadgenOptions {
  // Where and how.
  Backend backend = Backend::kGrpc;
  std::string target;  // host:port of the router's gRPC or HTTP port
  CallOptions call;
  int32_t http_threads = 1;

  // Workload: "synthetic" (needs model_path), "jsonl" or "sharegpt" (dataset_path).
  std::string dataset = "synthetic";
  std::string dataset_path;
  std::string model_path;  // GGUF whose tokenizer builds and counts prompts
  std::string input_tokens = "128";
  std::string output_tokens = "128";
  int32_t prefix_groups = 0;
  int32_t prefix_tokens = 0;
  uint64_t seed = 0;

  // Load.
  ArrivalOptions arrivals;
  int64_t num_requests = 0;
  absl::Duration duration = absl::ZeroDuration();
  int32_t warmup_requests = 0;
  Slo slo;

  // Sweep: one run per value (rates for open loop, concurrencies for closed loop).
  std::vector<double> sweep;

  // Compare: result or sweep files to put side by side (no load is sent). Consecutive files
  // with the same label (compare_labels, else the file's own) join into one sweep.
  std::vector<std::string> compare;
  std::vector<std::string> compare_labels;

  // Outputs.
  std::string label;
  std::string result_json;    // one run's result, or the sweep file
  std::string report_prefix;  // sweep/compare: <prefix>.md and <prefix>_{goodput,ttft,tpot}.*
};

// kInvalidArgument for inconsistent options; errors of the workload, the client setup and the
// output files. Failed requests are not an error: they are in the summary and the result.
absl::Status RunLoadgen(const LoadgenOptions& options, std::ostream& out, std::ostream* progress);

}  // namespace baton::loadgen
