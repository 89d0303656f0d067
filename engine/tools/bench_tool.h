// The `bench` tool's logic. Two modes:
// - batch == 0, in the manner of llama-bench: prompt processing of n_prompt tokens in one step
//   (pp) and generation of n_gen tokens one at a time from an empty context (tg);
// - batch == N > 0, in the manner of llama-batched-bench: N sequences of n_prompt tokens
//   prefilled in one step (S_PP = N * n_prompt / time), then n_gen steps that each append one
//   token to every sequence (S_TG = N * n_gen / time), aggregate tokens/s.
// Each test is repeated and reported as mean and standard deviation of tokens/s, with the
// process's resident memory against the file's bytes and, for decode, the weight bandwidth
// achieved (weight bytes read per step x steps/s) against a given bound. Single caller.
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
  int32_t batch = 0;       // 0: llama-bench mode; N > 0: N sequences decoded together
  int32_t threads = 2;
  int32_t repetitions = 3;
  KvDType kv_dtype = KvDType::kF16;
  // Memory read bandwidth to compare decode against, bytes/s (e.g. from read_bandwidth);
  // 0 leaves the percentage out.
  double bound_bytes_per_second = 0;
};

struct BenchFigure {
  double mean_tokens_per_second = 0;
  double stddev_tokens_per_second = 0;
};

struct BenchResult {
  std::string model_description;
  BenchFigure pp;  // batch > 0: S_PP
  BenchFigure tg;  // batch > 0: S_TG
  int64_t file_bytes = 0;
  int64_t peak_resident_bytes = 0;  // VmHWM after the runs (0 when unknown)
  int64_t resident_bytes = 0;       // VmRSS after the runs
  int64_t weight_bytes_per_step = 0;  // read by one decode step (any batch size)
};

// Loads the model, runs one untimed warm-up of each test, then `repetitions` timed runs.
// kInvalidArgument for negative token counts or batch, repetitions < 1, or batch > 0 with
// n_prompt + n_gen == 0; the model loader's and the engine's errors otherwise.
absl::StatusOr<BenchResult> RunBench(const BenchOptions& options);

// A markdown table like llama-bench's (batch > 0: like llama-batched-bench's), then the memory
// and bandwidth lines.
std::string FormatBench(const BenchOptions& options, const BenchResult& result);

// Weight bandwidth of decode in bytes/s: bytes one step reads x steps/s, where a step appends
// one token to each of `batch` (>= 1) sequences at tokens_per_second in aggregate.
double DecodeBandwidth(int64_t weight_bytes_per_step, double tokens_per_second, int32_t batch);

}  // namespace baton::engine::tools
