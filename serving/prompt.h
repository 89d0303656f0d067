// Validation of a request's prompt against the served model, shared by both workers.
//
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "engine/model/model_config.h"

namespace baton::serving {

// kInvalidArgument when the prompt is empty, holds an id outside [0, vocab_size), or leaves no
// room in the context for one generated token (size >= context_length).
absl::Status ValidatePrompt(std::span<const int32_t> prompt, const engine::ModelConfig& config);

}  // namespace baton::serving
