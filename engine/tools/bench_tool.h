// The `bench` tool's logic, in the manner of llama-bench: prompt processing of n_prompt tokens
// in one batch (pp) and generation of n_gen tokens one at a time from an empty context (tg),
// each repeated and reported as mean and standard deviation of tokens/s. Single caller.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "engine/kv_cache/kv_layout.h"

namespace baton::engine::tools {

struct BenchOptions {
  std::string model_path;
  int32_t n_prompt = 512;  // 0 skips pp
  int32_t n_gen = 128;     // 0 skips tg
  int32_t threads = 2;
  int32_t repetitions = 3;
  KvDType kv_dtype = KvDType::kF16;
};

struct BenchFigure {
  double mean_tokens_per_second = 0;
  double stddev_tokens_per_second = 0;
};

struct BenchResult {
  std::string model_description;
  BenchFigure pp;
  BenchFigure tg;
};

// Loads the model, runs one untimed warm-up of each test, then `repetitions` timed runs.
absl::StatusOr<BenchResult> RunBench(const BenchOptions& options);

// A markdown table like llama-bench's.
std::string FormatBench(const BenchOptions& options, const BenchResult& result);

}  // namespace baton::engine::tools
