#include "router/openai_request.h"

#include <string>
#include <utility>

#include "common/status_macros.h"
#include "router/json_fields.h"
#include "router/sampling_fields.h"

namespace baton::router {
namespace {

using Json = nlohmann::json;

constexpr SamplingFieldNames kOpenAiSampling = {
    .temperature = "temperature",
    .top_p = "top_p",
    .top_k = "top_k",
    .min_p = "min_p",
    .repetition_penalty = "repetition_penalty",
    .frequency_penalty = "frequency_penalty",
    .presence_penalty = "presence_penalty",
    .seed = "seed",
    .stop = "stop",
    .max_tokens = "max_tokens",
    .ignore_eos = "ignore_eos",
};

// What both endpoints share: model, n, stream, stream_options and the sampling fields.
absl::Status ReadCommonFields(const JsonObjectReader& body, OpenAiRequest& out) {
  ASSIGN_OR_RETURN(std::optional<std::string> model, body.String("model"));
  if (model) out.generate.set_model(std::move(*model));
  ASSIGN_OR_RETURN(std::optional<int64_t> n, body.Int64("n"));
  if (n && *n != 1) return FieldError("n", "only n=1 is supported");
  ASSIGN_OR_RETURN(std::optional<bool> stream, body.Bool("stream"));
  out.stream = stream.value_or(false);
  ASSIGN_OR_RETURN(const Json* stream_options, body.Object("stream_options"));
  if (stream_options != nullptr) {
    ASSIGN_OR_RETURN(std::optional<bool> include_usage,
                     JsonObjectReader(*stream_options, "stream_options").Bool("include_usage"));
    out.include_usage = include_usage.value_or(false);
  }
  baton::v1::SamplingParams& sampling = *out.generate.mutable_sampling();
  RETURN_IF_ERROR(ReadSamplingFields(body, kOpenAiSampling, sampling));
  // vLLM's clients send -1 for "no top-k"; baton spells that 0.
  if (sampling.top_k() == -1) sampling.set_top_k(0);
  return absl::OkStatus();
}

// A message's content: a string, or text parts to concatenate. Null (an assistant turn that
// only called tools) reads as empty.
absl::StatusOr<std::string> MessageContent(const JsonObjectReader& message) {
  const Json* content = message.Find("content");
  if (content == nullptr) return std::string();
  if (content->is_string()) return content->get<std::string>();
  const std::string field = message.FieldName("content");
  if (!content->is_array()) return FieldTypeError(field, "a string or an array of parts");
  std::string text;
  for (size_t i = 0; i < content->size(); ++i) {
    ASSIGN_OR_RETURN(const JsonObjectReader part, JsonObjectReader::Element(*content, i, field));
    ASSIGN_OR_RETURN(std::optional<std::string> type, part.String("type"));
    if (type != "text") {
      return FieldError(part.FieldName("type"), "only text content parts are supported");
    }
    ASSIGN_OR_RETURN(std::optional<std::string> part_text, part.String("text"));
    if (!part_text) return MissingFieldError(part.FieldName("text"));
    text += *part_text;
  }
  return text;
}

absl::Status ReadMessages(const JsonObjectReader& body, baton::v1::ChatMessages& chat) {
  ASSIGN_OR_RETURN(const Json* messages, body.Array("messages"));
  if (messages == nullptr) return MissingFieldError("messages");
  for (size_t i = 0; i < messages->size(); ++i) {
    ASSIGN_OR_RETURN(const JsonObjectReader message,
                     JsonObjectReader::Element(*messages, i, "messages"));
    ASSIGN_OR_RETURN(std::optional<std::string> role, message.String("role"));
    if (!role) return MissingFieldError(message.FieldName("role"));
    // OpenAI's newer name for the system role.
    if (*role == "developer") role = "system";
    ASSIGN_OR_RETURN(std::string content, MessageContent(message));
    baton::v1::ChatMessage& out = *chat.add_messages();
    out.set_role(std::move(*role));
    out.set_content(std::move(content));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OpenAiRequest> CompletionRequestFromJson(const Json& json) {
  const JsonObjectReader body(json);
  OpenAiRequest out;
  RETURN_IF_ERROR(ReadCommonFields(body, out));
  const Json* prompt = body.Find("prompt");
  if (prompt == nullptr) return MissingFieldError("prompt");
  if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    prompt = &(*prompt)[0];
  }
  if (!prompt->is_string()) {
    return FieldTypeError("prompt", "a string or a list of one string");
  }
  out.generate.set_text(prompt->get<std::string>());
  // Legacy completions take the number of alternatives; 0 still asks for the chosen token's.
  ASSIGN_OR_RETURN(std::optional<int32_t> logprobs, body.Int32("logprobs"));
  if (logprobs) {
    out.generate.mutable_sampling()->set_logprobs(true);
    out.generate.mutable_sampling()->set_top_logprobs(*logprobs);
  }
  return out;
}

absl::StatusOr<OpenAiRequest> ChatRequestFromJson(const Json& json) {
  const JsonObjectReader body(json);
  OpenAiRequest out;
  RETURN_IF_ERROR(ReadCommonFields(body, out));
  RETURN_IF_ERROR(ReadMessages(body, *out.generate.mutable_chat()));
  baton::v1::SamplingParams& sampling = *out.generate.mutable_sampling();
  ASSIGN_OR_RETURN(std::optional<int32_t> max_completion_tokens,
                   body.Int32("max_completion_tokens"));
  if (max_completion_tokens) sampling.set_max_tokens(*max_completion_tokens);
  ASSIGN_OR_RETURN(std::optional<bool> logprobs, body.Bool("logprobs"));
  if (logprobs) sampling.set_logprobs(*logprobs);
  ASSIGN_OR_RETURN(std::optional<int32_t> top_logprobs, body.Int32("top_logprobs"));
  if (top_logprobs) sampling.set_top_logprobs(*top_logprobs);
  return out;
}

}  // namespace baton::router
