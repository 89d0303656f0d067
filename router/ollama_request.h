// Translates Ollama request bodies (/api/generate, /api/chat) into baton.v1.GenerateRequest.
// Checked here is only what the protocol's shapes say: JSON types, the model being named, and no
// images; ranges and meaning are the pipeline's to judge. Unknown fields (format, keep_alive,
// context, template, tools) are ignored.
//
// Stateless; thread-safe.
#pragma once

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "proto/baton/v1/inference.pb.h"

namespace baton::router {

struct OllamaRequest {
  // Its model is the name the client gave ("name" or "name:tag").
  baton::v1::GenerateRequest generate;
  // Ollama streams unless told not to.
  bool stream = true;
  // Nothing to generate (no prompt or system, or no messages): Ollama's way to load a model,
  // answered with done_reason "load" and no call to the pipeline.
  bool load_only = false;
};

// POST /api/generate: model (required), prompt, system (then the prompt goes as a chat of a
// system and a user message; without it, as plain text), raw (the prompt as plain text, system
// ignored), stream, images (must be empty), options {temperature, top_k, top_p, min_p,
// num_predict (negative: no limit), seed, stop, repeat_penalty, presence_penalty,
// frequency_penalty}. kInvalidArgument (a FieldError naming the field) for a wrong type, a
// missing model or images.
absl::StatusOr<OllamaRequest> OllamaGenerateRequestFromJson(const nlohmann::json& body);

// POST /api/chat: model (required), messages [{role, content, images (must be empty)}], stream,
// options as above. kInvalidArgument as above, also for a message without a role.
absl::StatusOr<OllamaRequest> OllamaChatRequestFromJson(const nlohmann::json& body);

}  // namespace baton::router
