// Converts the public API's SamplingParams (proto/baton/v1/inference.proto) into the engine
// sampler's parameters and stop conditions, and the sampler's results into PositionLogprobs.
// Shared by the prefill and decode workers so both read a request the same way.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "engine/sampler/sampler.h"
#include "proto/baton/v1/inference.pb.h"

namespace baton::serving {

// Tokens generated when SamplingParams.max_tokens is 0.
inline constexpr int32_t kDefaultMaxTokens = 256;

struct RequestSampling {
  engine::SamplingParams params;
  // Tokens to generate (the prefill worker's first token included), >= 1.
  int32_t max_tokens = kDefaultMaxTokens;
  // Report the chosen token's logprob (and params.top_logprobs alternatives).
  bool logprobs = false;
  // Keep going past the model's end-of-generation tokens.
  bool ignore_eos = false;
};

// Applies the proto's documented defaults (temperature 1, top_p 1, repetition penalty 1,
// max_tokens 256) and validates. The seed is the one exception: the public API's "unset: a
// random seed" is the router's to apply, once per request, because the prefill and the decode
// worker of a request must key their draws on the same seed; a worker reads an unset seed as 0.
// kInvalidArgument naming the field for out-of-range values (negative max_tokens, top_logprobs
// outside [0, 20], ...).
absl::StatusOr<RequestSampling> SamplingFromProto(const baton::v1::SamplingParams& proto);

// The chosen token and its alternatives as the API reports them (text pieces are left empty:
// workers are token-in / token-out, the router fills them).
baton::v1::PositionLogprobs ToPositionLogprobs(const engine::SampleResult& result);

// What a worker reports with a sampled token: its logprobs when the request asked for them
// (sampling.logprobs), else nothing.
std::optional<baton::v1::PositionLogprobs> LogprobsIfRequested(const RequestSampling& sampling,
                                                               const engine::SampleResult& result);

}  // namespace baton::serving
