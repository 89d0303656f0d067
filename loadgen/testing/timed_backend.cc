#include "loadgen/testing/timed_backend.h"

#include "absl/time/clock.h"

namespace baton::loadgen::testing {

absl::StatusOr<baton::v1::GenerateResponse> TimedBackend::Generate(
    const baton::v1::GenerateRequest& request, const router::CallContext&,
    const router::ChunkSink& on_chunk) {
  const InjectedTiming timing = timing_(request);
  const int32_t tokens = request.sampling().max_tokens();
  absl::SleepFor(timing.first_token);
  for (int32_t i = 0; i < tokens; ++i) {
    if (i > 0) absl::SleepFor(timing.per_token);
    baton::v1::GenerateResponse chunk;
    chunk.add_token_ids(100 + i);
    chunk.set_text_delta(" tok");
    if (!on_chunk(chunk)) return absl::CancelledError("the client went away");
  }
  baton::v1::GenerateResponse final_response;
  final_response.set_finish_reason(baton::v1::FINISH_REASON_LENGTH);
  const int32_t prompt_tokens =
      static_cast<int32_t>(request.has_chat() && request.chat().messages_size() > 0
                               ? request.chat().messages(0).content().size()
                               : request.text().size());
  final_response.mutable_usage()->set_prompt_tokens(prompt_tokens);
  final_response.mutable_usage()->set_completion_tokens(tokens);
  final_response.mutable_usage()->set_total_tokens(prompt_tokens + tokens);
  return final_response;
}

baton::v1::ListModelsResponse TimedBackend::ListModels() const {
  baton::v1::ListModelsResponse models;
  models.add_models()->set_id("timed");
  return models;
}

absl::StatusOr<baton::v1::TokenizeResponse> TimedBackend::Tokenize(
    const baton::v1::TokenizeRequest&) const {
  return absl::UnimplementedError("TimedBackend does not tokenize");
}

absl::StatusOr<std::string> TimedBackend::ChatTemplateText(const std::string&) const {
  return absl::NotFoundError("TimedBackend has no chat template");
}

}  // namespace baton::loadgen::testing
