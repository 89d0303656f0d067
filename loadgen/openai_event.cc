#include "loadgen/openai_event.h"

#include "nlohmann/json.hpp"

namespace baton::loadgen {
namespace {

using Json = nlohmann::json;

bool NonEmptyString(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
}

std::string MessageOf(const Json& error) {
  if (error.is_object() && error.contains("message") && error["message"].is_string()) {
    return error["message"].get<std::string>();
  }
  return error.dump();
}

}  // namespace

const char* OpenAiPath(PromptMode mode) {
  return mode == PromptMode::kChat ? "/v1/chat/completions" : "/v1/completions";
}

std::string OpenAiRequestBody(const RequestSpec& spec, const CallOptions& options) {
  Json body = {{"model", options.model},
               {"max_tokens", spec.output_tokens},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}},
               {"ignore_eos", options.ignore_eos},
               {"temperature", options.temperature}};
  if (options.mode == PromptMode::kChat) {
    body["messages"] = Json::array({{{"role", "user"}, {"content", spec.prompt}}});
  } else {
    body["prompt"] = spec.prompt;
  }
  return body.dump();
}

OpenAiEvent ParseOpenAiEvent(absl::string_view payload) {
  OpenAiEvent event;
  if (payload == "[DONE]") {
    event.kind = OpenAiEvent::Kind::kDone;
    return event;
  }
  const Json chunk = Json::parse(payload.begin(), payload.end(), nullptr, false);
  if (!chunk.is_object()) {
    event.kind = OpenAiEvent::Kind::kError;
    event.message = "malformed event: " + std::string(payload);
    return event;
  }
  if (chunk.contains("error")) {
    event.kind = OpenAiEvent::Kind::kError;
    event.message = MessageOf(chunk["error"]);
    return event;
  }
  const auto choices = chunk.find("choices");
  if (choices != chunk.end() && choices->is_array() && !choices->empty() &&
      (*choices)[0].is_object()) {
    const Json& choice = (*choices)[0];
    const auto delta = choice.find("delta");
    if (NonEmptyString(choice, "text") ||
        (delta != choice.end() && delta->is_object() && NonEmptyString(*delta, "content"))) {
      event.kind = OpenAiEvent::Kind::kOutput;
      return event;
    }
  }
  const auto usage = chunk.find("usage");
  if (usage != chunk.end() && usage->is_object()) {
    event.kind = OpenAiEvent::Kind::kUsage;
    event.prompt_tokens = usage->value("prompt_tokens", 0);
    event.completion_tokens = usage->value("completion_tokens", 0);
  }
  return event;
}

std::string OpenAiErrorMessage(absl::string_view body) {
  const Json parsed = Json::parse(body.begin(), body.end(), nullptr, false);
  if (parsed.is_object() && parsed.contains("error")) return MessageOf(parsed["error"]);
  return std::string(body);
}

}  // namespace baton::loadgen
