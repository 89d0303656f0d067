#include "serving/request.h"

#include "common/status_macros.h"
#include "serving/prompt.h"

namespace baton::serving {

absl::StatusOr<PromptAndSampling> ParsePromptAndSampling(
    const google::protobuf::RepeatedField<int32_t>& prompt_token_ids,
    const baton::v1::SamplingParams& sampling, const engine::ModelConfig& config) {
  PromptAndSampling out;
  out.prompt.assign(prompt_token_ids.begin(), prompt_token_ids.end());
  RETURN_IF_ERROR(ValidatePrompt(out.prompt, config));
  ASSIGN_OR_RETURN(out.sampling, SamplingFromProto(sampling));
  return out;
}

}  // namespace baton::serving
