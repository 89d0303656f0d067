// Renders the backend's answers in OpenAI's formats: the whole response of a call with
// stream=false, the object each server-sent event carries with stream=true, and error bodies.
// The two generation endpoints differ only in a few shapes (text vs message/delta, the legacy
// vs the chat logprobs), which each endpoint's OpenAiResponseFormat subclass supplies.
//
// One OpenAiResponseFormat per call, used on that call's thread; not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "google/protobuf/repeated_ptr_field.h"
#include "nlohmann/json.hpp"
#include "proto/baton/v1/inference.pb.h"
#include "router/http_api_call.h"

namespace baton::router {

// {"error": {"message", "type" (OpenAiErrorType), "param" (the field or null), "code"}}.
std::string OpenAiErrorBody(const ApiError& error);

// {"prompt_tokens", "completion_tokens", "total_tokens"}.
nlohmann::json OpenAiUsage(const baton::v1::Usage& usage);

// What every object of one response repeats.
struct OpenAiResponseIdentity {
  std::string id;  // "cmpl-..." or "chatcmpl-..."
  std::string model;
  int64_t created = 0;  // Unix seconds
};

class OpenAiResponseFormat {
 public:
  using Logprobs = google::protobuf::RepeatedPtrField<baton::v1::PositionLogprobs>;

  // `logprobs`: the request asked for them (else "logprobs" is null). `include_usage`: every
  // streamed chunk carries "usage": null, as OpenAI's do when usage is to come last.
  OpenAiResponseFormat(OpenAiResponseIdentity identity, bool logprobs, bool include_usage);
  virtual ~OpenAiResponseFormat() = default;

  // stream=true, in this order: StreamChunk for each backend chunk (null when it carries
  // nothing to show), FinishChunk with the backend's final message, and UsageChunk when the
  // client asked for usage.
  nlohmann::json StreamChunk(const baton::v1::GenerateResponse& chunk);
  nlohmann::json FinishChunk(const baton::v1::GenerateResponse& final_response);
  nlohmann::json UsageChunk(const baton::v1::GenerateResponse& final_response) const;

  // stream=false: Accumulate each backend chunk, then WholeResponse with the final message.
  void Accumulate(const baton::v1::GenerateResponse& chunk);
  nlohmann::json WholeResponse(const baton::v1::GenerateResponse& final_response);

 protected:
  // The "object" of a whole response or of a streamed chunk.
  virtual std::string_view ObjectName(bool chunk) const = 0;
  // Puts a streamed chunk's `text` into `choice`; `first` is set on the first chunk sent.
  virtual void SetStreamText(nlohmann::json& choice, std::string_view text, bool first) const = 0;
  // Puts the whole response's text into `choice`.
  virtual void SetWholeText(nlohmann::json& choice, std::string_view text) const = 0;
  // The "logprobs" object for `positions`, which continue those given before.
  virtual nlohmann::json LogprobsObject(const Logprobs& positions) = 0;

 private:
  nlohmann::json Envelope(bool chunk) const;
  nlohmann::json StreamChoice(std::string_view text, const Logprobs& positions,
                              const nlohmann::json& finish_reason);

  const OpenAiResponseIdentity identity_;
  const bool logprobs_;
  const bool include_usage_;
  bool first_chunk_ = true;
  std::string text_;
  Logprobs positions_;
};

// /v1/completions: "text_completion" objects; legacy logprobs {tokens, token_logprobs,
// top_logprobs (text -> logprob, the chosen token included), text_offset (in characters)}.
std::unique_ptr<OpenAiResponseFormat> NewCompletionFormat(OpenAiResponseIdentity identity,
                                                          bool logprobs, bool include_usage);

// /v1/chat/completions: "chat.completion" / "chat.completion.chunk" objects with a message or
// a delta (the role on the first); logprobs {content: [{token, logprob, bytes, top_logprobs}]}.
std::unique_ptr<OpenAiResponseFormat> NewChatCompletionFormat(OpenAiResponseIdentity identity,
                                                              bool logprobs, bool include_usage);

}  // namespace baton::router
