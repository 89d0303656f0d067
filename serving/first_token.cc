#include "serving/first_token.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/baton/internal/v1/prefill.pb.h"

namespace baton::serving {

kvtransfer::Completion FirstTokenCompletion(const RequestSampling& sampling,
                                            const engine::SampleResult& sample) {
  kvtransfer::Completion completion{sample.token};
  if (std::optional<baton::v1::PositionLogprobs> logprobs = LogprobsIfRequested(sampling, sample)) {
    // At most 21 (token, logprob) pairs without text: a few hundred bytes, well under
    // kvtransfer::kMaxCompletionPayloadBytes.
    baton::internal::v1::KvCompletionPayload payload;
    *payload.mutable_first_logprobs() = *std::move(logprobs);
    completion.payload = payload.SerializeAsString();
  }
  return completion;
}

absl::StatusOr<FirstToken> FirstTokenFromCompletion(const kvtransfer::Completion& completion,
                                                    const RequestSampling& sampling,
                                                    int32_t vocab_size) {
  FirstToken first{completion.first_token};
  if (first.token < 0 || first.token >= vocab_size) {
    return absl::DataLossError(
        absl::StrCat("prefill sent first token ", first.token, " outside the vocabulary"));
  }
  if (!sampling.logprobs) return first;
  baton::internal::v1::KvCompletionPayload payload;
  if (!payload.ParseFromString(completion.payload)) {
    return absl::DataLossError("prefill sent a completion payload that does not parse");
  }
  // Without them D could only stream the token bare, and the client would silently miss the
  // logprobs of the first position.
  if (!payload.has_first_logprobs() ||
      payload.first_logprobs().chosen().token_id() != first.token) {
    return absl::DataLossError(absl::StrCat("prefill sent no logprobs for first token ",
                                            first.token, " although the request asked for them"));
  }
  first.logprobs = std::move(*payload.mutable_first_logprobs());
  return first;
}

}  // namespace baton::serving
