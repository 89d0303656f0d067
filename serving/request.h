// Reads the part every worker request shares, the prompt's token ids and the sampling
// parameters, validated against the served model.
//
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/model_config.h"
#include "google/protobuf/repeated_field.h"
#include "proto/baton/v1/inference.pb.h"
#include "serving/sampling.h"

namespace baton::serving {

struct PromptAndSampling {
  std::vector<int32_t> prompt;
  RequestSampling sampling;
};

// kInvalidArgument for a bad prompt (ValidatePrompt) or bad sampling values (FromProto).
absl::StatusOr<PromptAndSampling> ParsePromptAndSampling(
    const google::protobuf::RepeatedField<int32_t>& prompt_token_ids,
    const baton::v1::SamplingParams& sampling, const engine::ModelConfig& config);

}  // namespace baton::serving
