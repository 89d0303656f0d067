// Single-sequence generation on top of Engine: prefill a prompt, then sample token by token.
// The seam for tools and tests (token ids in, token ids out); text handling lives elsewhere.
//
// Threading: uses the Engine, so the same rules apply (one caller at a time per Engine).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/kv_cache/kv_layout.h"
#include "engine/runtime/engine.h"
#include "engine/sampler/sampler.h"

namespace baton::engine {

struct GenerateOptions {
  int32_t max_tokens = 16;
  SamplingParams sampling;
  KvDType kv_dtype = KvDType::kF16;
  int32_t block_size_tokens = 16;
  // Generation stops after emitting one of these (the stop token is included in the output).
  std::vector<int32_t> stop_tokens;
};

struct GenerateResult {
  std::vector<int32_t> tokens;           // generated ids
  std::vector<SampleResult> samples;     // per generated token: chosen token and logprobs
  std::vector<float> first_logits;       // logits after the prompt (vocab_size floats)
  double prefill_seconds = 0;
  double decode_seconds = 0;             // every step after the prefill
  int32_t decode_steps = 0;              // forward steps after the prefill
};

// Runs `prompt` (non-empty) through a private KV pool sized for prompt + max_tokens and samples
// up to max_tokens tokens. kInvalidArgument for an empty prompt, bad sampling params, ids
// outside the vocabulary or a total length beyond the context.
absl::StatusOr<GenerateResult> Generate(Engine& engine, std::span<const int32_t> prompt,
                                        const GenerateOptions& options);

}  // namespace baton::engine
