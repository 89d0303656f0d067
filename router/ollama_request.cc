#include "router/ollama_request.h"

#include <string>
#include <utility>

#include "common/status_macros.h"
#include "router/json_fields.h"
#include "router/sampling_fields.h"

namespace baton::router {
namespace {

using Json = nlohmann::json;

constexpr SamplingFieldNames kOllamaOptions = {
    .temperature = "temperature",
    .top_p = "top_p",
    .top_k = "top_k",
    .min_p = "min_p",
    .repetition_penalty = "repeat_penalty",
    .frequency_penalty = "frequency_penalty",
    .presence_penalty = "presence_penalty",
    .seed = "seed",
    .stop = "stop",
    .max_tokens = "num_predict",
};

// Images need a vision model, which baton does not serve.
absl::Status RejectImages(const JsonObjectReader& object) {
  ASSIGN_OR_RETURN(const Json* images, object.Array("images"));
  if (images != nullptr && !images->empty()) {
    return FieldError(object.FieldName("images"), "images are not supported");
  }
  return absl::OkStatus();
}

// model (required), stream and options: what both endpoints share.
absl::Status ReadCommonFields(const JsonObjectReader& body, OllamaRequest& out) {
  ASSIGN_OR_RETURN(std::optional<std::string> model, body.String("model"));
  if (!model || model->empty()) return MissingFieldError("model");
  out.generate.set_model(std::move(*model));
  ASSIGN_OR_RETURN(std::optional<bool> stream, body.Bool("stream"));
  out.stream = stream.value_or(true);
  ASSIGN_OR_RETURN(const Json* options, body.Object("options"));
  if (options != nullptr) {
    baton::v1::SamplingParams& sampling = *out.generate.mutable_sampling();
    RETURN_IF_ERROR(
        ReadSamplingFields(JsonObjectReader(*options, "options"), kOllamaOptions, sampling));
    // Ollama's -1 ("until done") and -2 ("fill the context") both mean no limit of our own.
    if (sampling.max_tokens() < 0) sampling.set_max_tokens(0);
  }
  return absl::OkStatus();
}

void AddMessage(baton::v1::ChatMessages& chat, std::string role, std::string content) {
  baton::v1::ChatMessage& message = *chat.add_messages();
  message.set_role(std::move(role));
  message.set_content(std::move(content));
}

}  // namespace

absl::StatusOr<OllamaRequest> OllamaGenerateRequestFromJson(const Json& json) {
  const JsonObjectReader body(json);
  OllamaRequest out;
  RETURN_IF_ERROR(ReadCommonFields(body, out));
  RETURN_IF_ERROR(RejectImages(body));
  ASSIGN_OR_RETURN(std::optional<std::string> prompt, body.String("prompt"));
  ASSIGN_OR_RETURN(std::optional<std::string> system, body.String("system"));
  ASSIGN_OR_RETURN(std::optional<bool> raw, body.Bool("raw"));
  const std::string prompt_text = prompt.value_or("");
  const std::string system_text = system.value_or("");
  if (prompt_text.empty() && system_text.empty()) {
    out.load_only = true;
  } else if (system_text.empty() || raw.value_or(false)) {
    out.generate.set_text(prompt_text);
  } else {
    AddMessage(*out.generate.mutable_chat(), "system", system_text);
    AddMessage(*out.generate.mutable_chat(), "user", prompt_text);
  }
  return out;
}

absl::StatusOr<OllamaRequest> OllamaChatRequestFromJson(const Json& json) {
  const JsonObjectReader body(json);
  OllamaRequest out;
  RETURN_IF_ERROR(ReadCommonFields(body, out));
  ASSIGN_OR_RETURN(const Json* messages, body.Array("messages"));
  if (messages == nullptr || messages->empty()) {
    out.load_only = true;
    return out;
  }
  baton::v1::ChatMessages& chat = *out.generate.mutable_chat();
  for (size_t i = 0; i < messages->size(); ++i) {
    ASSIGN_OR_RETURN(const JsonObjectReader message,
                     JsonObjectReader::Element(*messages, i, "messages"));
    ASSIGN_OR_RETURN(std::optional<std::string> role, message.String("role"));
    if (!role) return MissingFieldError(message.FieldName("role"));
    ASSIGN_OR_RETURN(std::optional<std::string> content, message.String("content"));
    RETURN_IF_ERROR(RejectImages(message));
    AddMessage(chat, std::move(*role), content.value_or(""));
  }
  return out;
}

}  // namespace baton::router
