// Token sampling from a logits vector: greedy, temperature, top-k, top-p, min-p, repetition /
// frequency / presence penalties, a seed, and logprobs of the chosen and the top-n tokens.
//
// Randomness is counter-based: the draw for a token is a pure function of (seed, the position
// the token takes in the sequence), not the next value of a stream. So any worker can sample
// token k of a request without replaying the draws before it: the prefill worker samples the
// first token, the decode worker the rest, a preempted or migrated sequence resumes where it
// was, and all of them give what one colocated run gives.
//
// Threading: a Sampler is immutable after Create; Sample, Validate and the free functions are
// thread-safe.
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
  // Same seed, same logits and history -> same token, whichever worker samples it.
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

  // Picks the token at position history.size(). `logits` is one row of the vocabulary
  // (non-empty); `history` is the whole sequence so far (prompt and generated tokens): its length
  // keys the random draw and the penalties read its tokens (ids outside the vocabulary are
  // ignored by them, but still count as positions).
  SampleResult Sample(std::span<const float> logits, std::span<const int32_t> history) const;

  const SamplingParams& params() const { return params_; }

 private:
  explicit Sampler(const SamplingParams& params);
  // Uniform in [0, 1) for the token at `position`: a pure function of (seed, position) with a
  // fixed algorithm, so runs are reproducible across workers and standard libraries.
  double UniformAt(uint64_t position) const;
  // Temperature, top-k, top-p and min-p sampling from (penalised) logits with the draw `uniform`.
  int32_t SampleTruncated(const std::vector<float>& logits, double uniform) const;

  const SamplingParams params_;
};

}  // namespace baton::engine
