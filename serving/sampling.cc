#include "serving/sampling.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace baton::serving {

absl::StatusOr<RequestSampling> SamplingFromProto(const baton::v1::SamplingParams& proto) {
  RequestSampling out;
  engine::SamplingParams& p = out.params;
  p.temperature = proto.has_temperature() ? proto.temperature() : 1.0f;
  p.top_k = proto.top_k();
  p.top_p = proto.has_top_p() ? proto.top_p() : 1.0f;
  p.min_p = proto.min_p();
  p.repetition_penalty = proto.has_repetition_penalty() ? proto.repetition_penalty() : 1.0f;
  p.frequency_penalty = proto.frequency_penalty();
  p.presence_penalty = proto.presence_penalty();
  // No random fallback here: a worker that picked its own seed would draw differently from its
  // partner (prefill vs decode) or a retry. The router picks the seed; unset is 0.
  p.seed = proto.seed();
  if (proto.top_logprobs() < 0 || proto.top_logprobs() > 20) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_logprobs must be in [0, 20], got ", proto.top_logprobs()));
  }
  p.top_logprobs = proto.top_logprobs();
  RETURN_IF_ERROR(engine::Validate(p));
  if (proto.max_tokens() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_tokens must be >= 1 (0 for the default), got ", proto.max_tokens()));
  }
  out.max_tokens = proto.max_tokens() == 0 ? kDefaultMaxTokens : proto.max_tokens();
  out.logprobs = proto.logprobs() || proto.top_logprobs() > 0;
  out.ignore_eos = proto.ignore_eos();
  return out;
}

baton::v1::PositionLogprobs ToPositionLogprobs(const engine::SampleResult& result) {
  baton::v1::PositionLogprobs out;
  out.mutable_chosen()->set_token_id(result.token);
  out.mutable_chosen()->set_logprob(result.logprob);
  for (const engine::TokenLogprob& alt : result.top) {
    baton::v1::TokenLogprob* top = out.add_top();
    top->set_token_id(alt.token);
    top->set_logprob(alt.logprob);
  }
  return out;
}

std::optional<baton::v1::PositionLogprobs> LogprobsIfRequested(const RequestSampling& sampling,
                                                               const engine::SampleResult& result) {
  if (!sampling.logprobs) return std::nullopt;
  return ToPositionLogprobs(result);
}

}  // namespace baton::serving
