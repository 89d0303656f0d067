#include "router/ollama_api.h"

#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "router/http_api_call.h"
#include "router/json_fields.h"
#include "router/ollama_request.h"
#include "router/ollama_response.h"

namespace baton::router {
namespace {

using baton::v1::GenerateResponse;
using Json = nlohmann::json;

constexpr std::string_view kNdjson = "application/x-ndjson";
// What /api/version reports: recent enough for the clients that check it before using
// /api/chat or /api/ps.
constexpr std::string_view kOllamaVersion = "0.5.0";
// Ollama's clients name a model "name:tag" and default the tag to this.
constexpr std::string_view kDefaultTag = ":latest";

// What tells the two generation endpoints apart.
struct GenerationEndpoint {
  std::string_view label;  // CallContext::endpoint and the count_request label
  OllamaReplyFormat::Endpoint format;
  absl::StatusOr<OllamaRequest> (*parse)(const Json& body);
};

constexpr GenerationEndpoint kGenerate = {"ollama_generate", OllamaReplyFormat::Endpoint::kGenerate,
                                          &OllamaGenerateRequestFromJson};
constexpr GenerationEndpoint kChat = {"ollama_chat", OllamaReplyFormat::Endpoint::kChat,
                                      &OllamaChatRequestFromJson};

// The served model `name` means: itself, or without the default tag. Null when none.
const baton::v1::ModelInfo* FindModel(const baton::v1::ListModelsResponse& models,
                                      std::string_view name) {
  for (const baton::v1::ModelInfo& model : models.models()) {
    if (model.id() == name) return &model;
  }
  if (!name.ends_with(kDefaultTag)) return nullptr;
  return FindModel(models, name.substr(0, name.size() - kDefaultTag.size()));
}

absl::Status UnknownModel(std::string_view name) {
  return absl::NotFoundError(absl::StrCat("model '", std::string(name), "' not found"));
}

// stream=true. The stream (and its 200) starts with the first line, so that an error before
// anything was generated still gets its own HTTP status.
void AnswerStreamed(InferenceBackend& backend, const OllamaRequest& request,
                    const CallContext& context, const OllamaReplyFormat& format,
                    HttpApiCall& call) {
  const auto send = [&call](const Json& line) {
    if (!call.streaming() && !call.StartStream(kNdjson)) return false;
    return call.Write(absl::StrCat(DumpJson(line), "\n"));
  };
  absl::StatusOr<GenerateResponse> final_response =
      backend.Generate(request.generate, context, [&](const GenerateResponse& chunk) {
        return chunk.text_delta().empty() || send(format.Partial(chunk.text_delta(), absl::Now()));
      });
  if (!final_response.ok()) {
    const ApiError error = ApiErrorFromStatus(final_response.status());
    if (!call.streaming()) return call.SendError(error);
    // The 200 is gone already: Ollama ends such a stream with an error line.
    call.Write(absl::StrCat(OllamaErrorBody(error), "\n"));
    return call.FinishStream(error.http_status);
  }
  send(format.Final("", *final_response, absl::Now()));
  call.FinishStream(200);
}

void AnswerWhole(InferenceBackend& backend, const OllamaRequest& request,
                 const CallContext& context, const OllamaReplyFormat& format, HttpApiCall& call) {
  std::string text;
  absl::StatusOr<GenerateResponse> final_response =
      backend.Generate(request.generate, context, [&text](const GenerateResponse& chunk) {
        text += chunk.text_delta();
        return true;
      });
  if (!final_response.ok()) return call.SendError(final_response.status());
  call.SendJson(format.Final(text, *final_response, absl::Now()));
}

void ServeGeneration(const GenerationEndpoint& endpoint, InferenceBackend& backend,
                     const HttpApiOptions& options, const common::HttpRequest& http,
                     common::HttpResponseWriter& writer) {
  HttpApiCall call(options, std::string(endpoint.label), &OllamaErrorBody, writer);
  if (!call.Admit(http, "POST")) return;
  absl::StatusOr<Json> body = ParseJsonObject(http.body);
  if (!body.ok()) return call.SendError(body.status());
  absl::StatusOr<OllamaRequest> request = endpoint.parse(*body);
  if (!request.ok()) return call.SendError(request.status());

  const OllamaReplyFormat format(endpoint.format, request->generate.model());
  const baton::v1::ListModelsResponse models = backend.ListModels();
  const baton::v1::ModelInfo* model = FindModel(models, request->generate.model());
  if (request->load_only) {
    // Models are always loaded; only the name needs checking.
    if (model == nullptr) return call.SendError(UnknownModel(request->generate.model()));
    return call.SendJson(format.Loaded(absl::Now()));
  }
  // An unknown name goes through as given: the pipeline owns the verdict and its message.
  if (model != nullptr) request->generate.set_model(model->id());
  const CallContext context{.endpoint = std::string(endpoint.label)};
  if (request->stream) {
    AnswerStreamed(backend, *request, context, format, call);
  } else {
    AnswerWhole(backend, *request, context, format, call);
  }
}

// POST /api/show {"model" (or the older "name")}.
void ServeShow(InferenceBackend& backend, const HttpApiOptions& options, absl::Time started,
               const common::HttpRequest& http, common::HttpResponseWriter& writer) {
  HttpApiCall call(options, http.path, &OllamaErrorBody, writer);
  if (!call.Admit(http, "POST")) return;
  absl::StatusOr<Json> body = ParseJsonObject(http.body);
  if (!body.ok()) return call.SendError(body.status());
  const JsonObjectReader fields(*body);
  absl::StatusOr<std::optional<std::string>> name = fields.String("model");
  if (name.ok() && !name->has_value()) name = fields.String("name");
  if (!name.ok()) return call.SendError(name.status());
  if (!name->has_value() || (*name)->empty()) return call.SendError(MissingFieldError("model"));
  const baton::v1::ListModelsResponse models = backend.ListModels();
  const baton::v1::ModelInfo* model = FindModel(models, **name);
  if (model == nullptr) return call.SendError(UnknownModel(**name));
  absl::StatusOr<std::string> chat_template = backend.ChatTemplateText(model->id());
  if (!chat_template.ok()) return call.SendError(chat_template.status());
  call.SendJson(OllamaShow(*model, *chat_template, started));
}

}  // namespace

void MountOllamaApi(common::HttpServer& server, InferenceBackend& backend,
                    const HttpApiOptions& options) {
  for (const auto& [path, endpoint] :
       {std::pair{"/api/generate", &kGenerate}, std::pair{"/api/chat", &kChat}}) {
    server.Handle(path, [&backend, options, endpoint = endpoint](
                            const common::HttpRequest& http, common::HttpResponseWriter& writer) {
      ServeGeneration(*endpoint, backend, options, http, writer);
    });
  }
  // Models count as modified when the router started serving them.
  const absl::Time started = absl::Now();
  server.Handle("/api/tags", [&backend, options, started](const common::HttpRequest& http,
                                                          common::HttpResponseWriter& writer) {
    HttpApiCall call(options, http.path, &OllamaErrorBody, writer);
    if (call.Admit(http, "GET")) call.SendJson(OllamaTags(backend.ListModels(), started));
  });
  server.Handle("/api/ps", [&backend, options](const common::HttpRequest& http,
                                               common::HttpResponseWriter& writer) {
    HttpApiCall call(options, http.path, &OllamaErrorBody, writer);
    if (call.Admit(http, "GET")) call.SendJson(OllamaRunning(backend.ListModels()));
  });
  server.Handle("/api/show", [&backend, options, started](const common::HttpRequest& http,
                                                          common::HttpResponseWriter& writer) {
    ServeShow(backend, options, started, http, writer);
  });
  server.Handle("/api/version",
                [options](const common::HttpRequest& http, common::HttpResponseWriter& writer) {
                  HttpApiCall call(options, http.path, &OllamaErrorBody, writer);
                  if (call.Admit(http, "GET")) call.SendJson(Json{{"version", kOllamaVersion}});
                });
}

}  // namespace baton::router
