// loadgen: the load-test client of baton. Drives the router over gRPC (baton.v1.Inference) or
// its OpenAI HTTP API (streaming), at an open-loop rate or a closed-loop concurrency, and reports
// TTFT, TPOT, ITL and end-to-end latency percentiles, throughput and goodput under SLOs, with
// `vllm bench serve`'s result names. Also sweeps load and compares result files (tables, plots).
//
//   loadgen --backend=grpc --target=127.0.0.1:8001 --model=m.gguf --arrivals=poisson --rate=4
//       --num_requests=200 --input_tokens=uniform:64:256 --output_tokens=64
//       --slo_ttft_ms=500 --slo_tpot_ms=50 --result_json=run.json
//   loadgen ... --sweep=1,2,4,8 --label=disagg --result_json=disagg.json --report_prefix=disagg
//   loadgen --compare=disagg.json,colocated.json --report_prefix=compare
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "loadgen/app.h"

ABSL_FLAG(std::string, backend, "grpc", "grpc (baton.v1.Inference) or openai (HTTP, streaming).");
ABSL_FLAG(std::string, target, "", "host:port of the router's gRPC port (grpc) or HTTP port.");
ABSL_FLAG(std::string, api_key, "", "API key, sent as 'Bearer <key>'.");
ABSL_FLAG(std::string, model, "", "GGUF file of the served model: its tokenizer builds prompts.");
ABSL_FLAG(std::string, model_name, "", "Served model name (default: --model's file name).");
ABSL_FLAG(std::string, mode, "completion", "completion (text prompt) or chat (one user message).");
ABSL_FLAG(bool, ignore_eos, true, "Generate exactly the output length (no early end).");
ABSL_FLAG(double, temperature, 0, "Sampling temperature.");
ABSL_FLAG(int32_t, timeout_s, 600, "Longest one request may take.");
ABSL_FLAG(int32_t, http_threads, 1, "Event-loop threads of the HTTP client.");
ABSL_FLAG(std::string, dataset, "synthetic", "synthetic, jsonl or sharegpt.");
ABSL_FLAG(std::string, dataset_path, "", "The jsonl or sharegpt file.");
ABSL_FLAG(std::string, input_tokens, "128",
          "Synthetic prompt lengths: N, uniform:A:B, normal:M:SD.");
ABSL_FLAG(std::string, output_tokens, "128", "Output lengths (same forms; datasets' default).");
ABSL_FLAG(int32_t, prefix_groups, 0, "Shared-prefix groups (0: none).");
ABSL_FLAG(int32_t, prefix_tokens, 0, "Tokens of each group's shared prefix.");
ABSL_FLAG(uint64_t, seed, 0, "Seed of the workload and of Poisson arrivals.");
ABSL_FLAG(std::string, arrivals, "poisson",
          "poisson, fixed (evenly spaced) or closed (concurrency).");
ABSL_FLAG(double, rate, 1, "Requests per second (poisson, fixed).");
ABSL_FLAG(int32_t, burst, 1, "Requests sent together (poisson, fixed).");
ABSL_FLAG(int32_t, concurrency, 1, "Requests in flight (closed).");
ABSL_FLAG(int64_t, num_requests, 0, "Requests to send (0: bounded by --duration_s only).");
ABSL_FLAG(double, duration_s, 0, "Stop sending after this many seconds (0: no time bound).");
ABSL_FLAG(int32_t, warmup_requests, 0, "Requests sent one by one first and not measured.");
ABSL_FLAG(double, slo_ttft_ms, 0, "Goodput SLO on time to first token (0: none).");
ABSL_FLAG(double, slo_tpot_ms, 0, "Goodput SLO on time per output token (0: none).");
ABSL_FLAG(std::string, sweep, "", "Comma-separated rates (open loop) or concurrencies (closed).");
ABSL_FLAG(std::string, compare, "", "Comma-separated result or sweep files to compare.");
ABSL_FLAG(std::string, compare_labels, "", "Comma-separated labels for --compare's files.");
ABSL_FLAG(std::string, label, "", "Name of this run or sweep in results, tables and plots.");
ABSL_FLAG(std::string, result_json, "", "Write the result (or the sweep) here.");
ABSL_FLAG(std::string, report_prefix, "", "Sweep/compare: write <prefix>.md and plots.");

namespace {

namespace loadgen = baton::loadgen;

int Usage(const std::string& message) {
  std::cerr << "loadgen: " << message << "\n";
  return 2;
}

std::string BaseName(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  const size_t dot = name.rfind(".gguf");
  return dot == std::string::npos ? name : name.substr(0, dot);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  loadgen::LoadgenOptions options;
  const std::string backend = absl::GetFlag(FLAGS_backend);
  if (backend == "grpc") {
    options.backend = loadgen::Backend::kGrpc;
  } else if (backend == "openai") {
    options.backend = loadgen::Backend::kOpenAi;
  } else {
    return Usage("--backend must be grpc or openai");
  }
  options.target = absl::GetFlag(FLAGS_target);
  options.call.api_key = absl::GetFlag(FLAGS_api_key);
  options.model_path = absl::GetFlag(FLAGS_model);
  options.call.model = absl::GetFlag(FLAGS_model_name).empty() ? BaseName(options.model_path)
                                                               : absl::GetFlag(FLAGS_model_name);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "completion" && mode != "chat") return Usage("--mode must be completion or chat");
  options.call.mode =
      mode == "chat" ? loadgen::PromptMode::kChat : loadgen::PromptMode::kCompletion;
  options.call.ignore_eos = absl::GetFlag(FLAGS_ignore_eos);
  options.call.temperature = static_cast<float>(absl::GetFlag(FLAGS_temperature));
  options.call.timeout = absl::Seconds(absl::GetFlag(FLAGS_timeout_s));
  options.http_threads = absl::GetFlag(FLAGS_http_threads);
  options.dataset = absl::GetFlag(FLAGS_dataset);
  options.dataset_path = absl::GetFlag(FLAGS_dataset_path);
  options.input_tokens = absl::GetFlag(FLAGS_input_tokens);
  options.output_tokens = absl::GetFlag(FLAGS_output_tokens);
  options.prefix_groups = absl::GetFlag(FLAGS_prefix_groups);
  options.prefix_tokens = absl::GetFlag(FLAGS_prefix_tokens);
  options.seed = absl::GetFlag(FLAGS_seed);
  absl::StatusOr<loadgen::ArrivalKind> kind =
      loadgen::ParseArrivalKind(absl::GetFlag(FLAGS_arrivals));
  if (!kind.ok()) return Usage(std::string(kind.status().message()));
  options.arrivals = {.kind = *kind,
                      .rate = absl::GetFlag(FLAGS_rate),
                      .burst = absl::GetFlag(FLAGS_burst),
                      .concurrency = absl::GetFlag(FLAGS_concurrency),
                      .seed = absl::GetFlag(FLAGS_seed)};
  options.num_requests = absl::GetFlag(FLAGS_num_requests);
  options.duration = absl::Seconds(absl::GetFlag(FLAGS_duration_s));
  options.warmup_requests = absl::GetFlag(FLAGS_warmup_requests);
  if (absl::GetFlag(FLAGS_slo_ttft_ms) > 0) options.slo.ttft_ms = absl::GetFlag(FLAGS_slo_ttft_ms);
  if (absl::GetFlag(FLAGS_slo_tpot_ms) > 0) options.slo.tpot_ms = absl::GetFlag(FLAGS_slo_tpot_ms);
  for (absl::string_view value :
       absl::StrSplit(absl::GetFlag(FLAGS_sweep), ',', absl::SkipWhitespace())) {
    double load = 0;
    if (!absl::SimpleAtod(value, &load) || load <= 0) {
      return Usage("--sweep takes positive numbers, not '" + std::string(value) + "'");
    }
    options.sweep.push_back(load);
  }
  options.compare = absl::StrSplit(absl::GetFlag(FLAGS_compare), ',', absl::SkipWhitespace());
  options.compare_labels =
      absl::StrSplit(absl::GetFlag(FLAGS_compare_labels), ',', absl::SkipWhitespace());
  options.label = absl::GetFlag(FLAGS_label);
  options.result_json = absl::GetFlag(FLAGS_result_json);
  options.report_prefix = absl::GetFlag(FLAGS_report_prefix);

  const absl::Status status =
      loadgen::RunLoadgen(options, std::cout, isatty(STDOUT_FILENO) ? &std::cout : nullptr);
  if (!status.ok()) {
    std::cerr << "loadgen: " << status << "\n";
    return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
