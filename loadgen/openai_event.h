// Builds the body of an OpenAI streaming call (/v1/completions or /v1/chat/completions) and reads
// the payload of each server-sent event of its answer. Stateless functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "loadgen/request_spec.h"
#include "loadgen/stream_client.h"

namespace baton::loadgen {

// The path of `mode`'s endpoint.
const char* OpenAiPath(PromptMode mode);

// The JSON body: stream=true with usage in a last chunk, max_tokens, ignore_eos, temperature.
std::string OpenAiRequestBody(const RequestSpec& spec, const CallOptions& options);

struct OpenAiEvent {
  enum class Kind { kOutput, kUsage, kDone, kError, kNothing };
  Kind kind = Kind::kNothing;
  int32_t prompt_tokens = 0;      // kUsage
  int32_t completion_tokens = 0;  // kUsage
  std::string message;            // kError
};

// One event's payload: "[DONE]"; {"error": {...}}; a chunk whose first choice has text (or a
// chat delta's content); a chunk with "usage". A finish chunk without text is kNothing, and so
// is anything unrecognised. Malformed JSON is kError.
OpenAiEvent ParseOpenAiEvent(absl::string_view payload);

// The message of an OpenAI error body ({"error": {"message": ...}}), or the body itself.
std::string OpenAiErrorMessage(absl::string_view body);

}  // namespace baton::loadgen
