// bench: llama-bench style throughput (pp = prompt tokens/s, tg = generated tokens/s), or with
// --batch N llama-batched-bench style aggregate S_PP / S_TG of N sequences decoded together.
//   bazel run -c opt //engine/tools:bench -- --model /tmp/llama1b-q4_0.gguf --p 512 --n 128
//   bazel run -c opt //engine/tools:bench -- --model ... --p 128 --n 64 --batch 16 --bound_gbps 55
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "engine/tools/bench_tool.h"
#include "engine/tools/flag_values.h"

ABSL_FLAG(std::string, model, "", "GGUF model path");
ABSL_FLAG(int32_t, p, 512, "prompt tokens (0 = skip pp)");
ABSL_FLAG(int32_t, n, 128, "generated tokens (0 = skip tg)");
ABSL_FLAG(int32_t, batch, 0, "sequences decoded together (0 = llama-bench style pp/tg)");
ABSL_FLAG(int32_t, threads, 2, "threads");
ABSL_FLAG(int32_t, r, 3, "repetitions");
ABSL_FLAG(std::string, kv_type, "f16", "KV cache type: f16 or f32");
ABSL_FLAG(double, bound_gbps, 0, "memory read bandwidth bound in GB/s (0 = not compared)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  baton::engine::tools::BenchOptions options;
  options.model_path = absl::GetFlag(FLAGS_model);
  options.n_prompt = absl::GetFlag(FLAGS_p);
  options.n_gen = absl::GetFlag(FLAGS_n);
  options.batch = absl::GetFlag(FLAGS_batch);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.bound_bytes_per_second = absl::GetFlag(FLAGS_bound_gbps) * 1e9;
  options.repetitions = absl::GetFlag(FLAGS_r);
  auto kv = baton::engine::tools::ParseKvDType(absl::GetFlag(FLAGS_kv_type));
  if (!kv.ok()) {
    std::cerr << "--kv_type: " << kv.status() << "\n";
    return 2;
  }
  options.kv_dtype = *kv;
  auto result = baton::engine::tools::RunBench(options);
  if (!result.ok()) {
    std::cerr << "bench: " << result.status() << "\n";
    return 1;
  }
  std::cout << baton::engine::tools::FormatBench(options, *result);
  return 0;
}
