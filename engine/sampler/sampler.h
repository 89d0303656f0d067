// Token sampling from a logits vector: greedy, temperature, top-k, top-p, min-p, repetition /
// frequency / presence penalties, a seed, and logprobs of the chosen and the top-n tokens.
//
// Threading: a Sampler holds one sequence's random state and is not thread-safe; give each
// sequence its own (they are cheap). Validate and the free functions are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace baton::engine {

struct SamplingParams {
  // 0 means greedy (argmax after penalties); otherwise logits are divided by it. Must be >= 0.
  float temperature = 1.0f;
  // Keep only the k most likely tokens; 0 disables. Must be >= 0.
  int32_t top_k = 0;
  // Keep the smallest set of tokens whose probability sums to >= top_p. In (0, 1]; 1 disables.
  float top_p = 1.0f;
  // Drop tokens whose probability is below min_p * (probability of the best token). In [0, 1].
  float min_p = 0.0f;
  // CTRL-style: a seen token's positive logit is divided by it, a negative one multiplied. > 0.
  float repetition_penalty = 1.0f;
  // OpenAI-style: logit -= frequency_penalty * count + presence_penalty * (count > 0).
  // Each in [-2, 2].
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  // How many of the most recent history tokens the penalties look at; -1 means all. >= -1.
  int32_t penalty_last_n = 64;
  // Same seed, same logits and history -> same tokens.
  uint64_t seed = 0;
  // Number of alternatives reported with their logprobs (0..20).
  int32_t top_logprobs = 0;
};

// OK, or kInvalidArgument naming the first out-of-range field.
absl::Status Validate(const SamplingParams& params);

struct TokenLogprob {
  int32_t token = 0;
  // Natural log of the token's probability under the model's distribution: log_softmax of the
  // raw logits (before penalties, temperature and truncation), as OpenAI reports it.
  float logprob = 0.0f;
};

struct SampleResult {
  int32_t token = 0;
  float logprob = 0.0f;
  // The `top_logprobs` most likely tokens, most likely first.
  std::vector<TokenLogprob> top;
};

class Sampler {
 public:
  // kInvalidArgument when Validate(params) fails.
  static absl::StatusOr<std::unique_ptr<Sampler>> Create(const SamplingParams& params);

  // Picks the next token. `logits` is one row of the vocabulary (non-empty); `history` is the
  // sequence so far (prompt and generated tokens), used only by the penalties; ids outside the
  // vocabulary in `history` are ignored.
  SampleResult Sample(std::span<const float> logits, std::span<const int32_t> history);

  const SamplingParams& params() const { return params_; }

 private:
  explicit Sampler(const SamplingParams& params);
  // Uniform in [0, 1) from a xorshift-style generator (fixed algorithm, so runs are reproducible
  // across standard libraries).
  double NextUniform();
  // Temperature, top-k, top-p and min-p sampling from (penalised) logits.
  int32_t SampleTruncated(const std::vector<float>& logits);

  SamplingParams params_;
  uint64_t state_;
};

}  // namespace baton::engine
