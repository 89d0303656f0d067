// Translates OpenAI-compatible request bodies into baton.v1.GenerateRequest. Checked here is only
// what the protocol's shapes say: JSON types, required fields, n == 1, the forms a prompt or a
// message content may take. Sampling ranges, empty prompts, roles and the model name are the
// pipeline's to judge (see InferenceBackend::Generate). Unknown fields are ignored, as OpenAI's
// server does.
//
// Stateless; thread-safe.
#pragma once

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "proto/baton/v1/inference.pb.h"

namespace baton::router {

struct OpenAiRequest {
  baton::v1::GenerateRequest generate;
  bool stream = false;
  // stream_options.include_usage: one more chunk, with the usage, before [DONE].
  bool include_usage = false;
};

// POST /v1/completions: model, prompt (a string, or a list of one string), max_tokens, the
// sampling fields (temperature, top_p, top_k (-1 disables, as in vLLM), min_p, seed, stop,
// presence/frequency/repetition penalties, ignore_eos), logprobs (the number of alternatives),
// n, stream, stream_options. kInvalidArgument (a FieldError naming the field) for a wrong type,
// a missing or unsupported prompt, or n != 1.
absl::StatusOr<OpenAiRequest> CompletionRequestFromJson(const nlohmann::json& body);

// POST /v1/chat/completions: messages (each a role and a content that is a string or a list of
// {"type": "text", "text": ...} parts, concatenated; "developer" is read as "system"),
// max_tokens or max_completion_tokens (which wins), the sampling fields as above, logprobs
// (bool) and top_logprobs, n, stream, stream_options. kInvalidArgument as above, also for
// missing messages and non-text content parts.
absl::StatusOr<OpenAiRequest> ChatRequestFromJson(const nlohmann::json& body);

}  // namespace baton::router
