#include "router/ollama_response.h"

#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "router/json_fields.h"

namespace baton::router {
namespace {

using Json = nlohmann::json;

// Models never unload; Ollama's clients parse this as a time, so it must be one.
constexpr std::string_view kNeverExpires = "9999-12-31T23:59:59Z";

int64_t Nanoseconds(double seconds) { return std::llround(seconds * 1e9); }

Json Details(const baton::v1::ModelInfo& model) {
  return Json{{"parent_model", ""},
              {"format", "gguf"},
              {"family", model.architecture()},
              {"families", Json::array({model.architecture()})},
              {"parameter_size", ""},
              // Ollama writes quantizations in capitals ("Q4_0", "F16").
              {"quantization_level", absl::AsciiStrToUpper(model.quantization())}};
}

}  // namespace

std::string OllamaErrorBody(const ApiError& error) {
  return DumpJson(Json{{"error", error.message}});
}

std::string OllamaTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", time, absl::UTCTimeZone());
}

OllamaReplyFormat::OllamaReplyFormat(Endpoint endpoint, std::string model)
    : endpoint_(endpoint), model_(std::move(model)) {}

Json OllamaReplyFormat::Reply(std::string_view text, bool done, absl::Time now) const {
  Json reply{{"model", model_}, {"created_at", OllamaTime(now)}, {"done", done}};
  if (endpoint_ == Endpoint::kChat) {
    reply["message"] = Json{{"role", "assistant"}, {"content", text}};
  } else {
    reply["response"] = text;
  }
  return reply;
}

Json OllamaReplyFormat::Partial(std::string_view text, absl::Time now) const {
  return Reply(text, /*done=*/false, now);
}

Json OllamaReplyFormat::Final(std::string_view text,
                              const baton::v1::GenerateResponse& final_response,
                              absl::Time now) const {
  const baton::v1::Timings& timings = final_response.timings();
  Json reply = Reply(text, /*done=*/true, now);
  reply["done_reason"] = FinishReasonText(final_response.finish_reason());
  reply["total_duration"] = Nanoseconds(timings.total_seconds());
  reply["load_duration"] = 0;
  reply["prompt_eval_count"] = final_response.usage().prompt_tokens();
  reply["prompt_eval_duration"] = Nanoseconds(timings.queue_seconds() + timings.prefill_seconds());
  reply["eval_count"] = final_response.usage().completion_tokens();
  reply["eval_duration"] = Nanoseconds(timings.decode_seconds());
  return reply;
}

Json OllamaReplyFormat::Loaded(absl::Time now) const {
  Json reply = Reply("", /*done=*/true, now);
  reply["done_reason"] = "load";
  return reply;
}

Json OllamaTags(const baton::v1::ListModelsResponse& models, absl::Time modified_at) {
  Json list = Json::array();
  for (const baton::v1::ModelInfo& model : models.models()) {
    list.push_back({{"name", model.id()},
                    {"model", model.id()},
                    {"modified_at", OllamaTime(modified_at)},
                    {"size", 0},
                    {"digest", ""},
                    {"details", Details(model)}});
  }
  return Json{{"models", std::move(list)}};
}

Json OllamaShow(const baton::v1::ModelInfo& model, std::string_view chat_template,
                absl::Time modified_at) {
  Json model_info{{"general.architecture", model.architecture()}};
  if (!model.architecture().empty()) {
    model_info[absl::StrCat(model.architecture(), ".context_length")] = model.context_length();
  }
  return Json{{"modelfile", absl::StrCat("FROM ", model.id(), "\n")},
              {"parameters", ""},
              {"template", chat_template},
              {"details", Details(model)},
              {"model_info", std::move(model_info)},
              {"capabilities", Json::array({"completion"})},
              {"modified_at", OllamaTime(modified_at)}};
}

Json OllamaRunning(const baton::v1::ListModelsResponse& models) {
  Json list = Json::array();
  for (const baton::v1::ModelInfo& model : models.models()) {
    list.push_back({{"name", model.id()},
                    {"model", model.id()},
                    {"size", 0},
                    {"digest", ""},
                    {"details", Details(model)},
                    {"expires_at", kNeverExpires},
                    {"size_vram", 0}});
  }
  return Json{{"models", std::move(list)}};
}

}  // namespace baton::router
