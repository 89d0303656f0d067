#include "router/openai_api.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "router/http_api_call.h"
#include "router/json_fields.h"
#include "router/openai_request.h"
#include "router/openai_response.h"

namespace baton::router {
namespace {

using baton::v1::GenerateResponse;
using Json = nlohmann::json;

constexpr std::string_view kEventStream = "text/event-stream";
constexpr std::string_view kDone = "data: [DONE]\n\n";

// What tells the two generation endpoints apart.
struct GenerationEndpoint {
  std::string_view label;      // CallContext::endpoint and the count_request label
  std::string_view id_prefix;  // of the response id
  absl::StatusOr<OpenAiRequest> (*parse)(const Json& body);
  std::unique_ptr<OpenAiResponseFormat> (*format)(OpenAiResponseIdentity identity, bool logprobs,
                                                  bool include_usage);
};

constexpr GenerationEndpoint kCompletions = {"openai_completions", "cmpl-",
                                             &CompletionRequestFromJson, &NewCompletionFormat};
constexpr GenerationEndpoint kChatCompletions = {"openai_chat", "chatcmpl-", &ChatRequestFromJson,
                                                 &NewChatCompletionFormat};

std::string NewResponseId(std::string_view prefix) {
  absl::BitGen random;
  return absl::StrFormat("%s%016x%016x", prefix, absl::Uniform<uint64_t>(random),
                         absl::Uniform<uint64_t>(random));
}

std::string Event(const std::string& json) { return absl::StrCat("data: ", json, "\n\n"); }

// stream=true. The stream (and its 200) starts with the first event, so that an error before
// anything was generated still gets its own HTTP status and a normal error body.
void AnswerStreamed(InferenceBackend& backend, const OpenAiRequest& request,
                    const CallContext& context, OpenAiResponseFormat& format, HttpApiCall& call) {
  const auto send = [&call](const Json& event) {
    if (!call.streaming() && !call.StartStream(kEventStream)) return false;
    return call.Write(Event(DumpJson(event)));
  };
  absl::StatusOr<GenerateResponse> final_response =
      backend.Generate(request.generate, context, [&](const GenerateResponse& chunk) {
        const Json event = format.StreamChunk(chunk);
        return event.is_null() || send(event);
      });
  if (!final_response.ok()) {
    const ApiError error = ApiErrorFromStatus(final_response.status());
    if (!call.streaming()) return call.SendError(error);
    // The 200 is gone already: the error travels in the stream, as OpenAI's do.
    call.Write(Event(OpenAiErrorBody(error)));
    call.Write(kDone);
    return call.FinishStream(error.http_status);
  }
  send(format.FinishChunk(*final_response));
  if (request.include_usage) send(format.UsageChunk(*final_response));
  call.Write(kDone);
  call.FinishStream(200);
}

void AnswerWhole(InferenceBackend& backend, const OpenAiRequest& request,
                 const CallContext& context, OpenAiResponseFormat& format, HttpApiCall& call) {
  absl::StatusOr<GenerateResponse> final_response =
      backend.Generate(request.generate, context, [&format](const GenerateResponse& chunk) {
        format.Accumulate(chunk);
        return true;
      });
  if (!final_response.ok()) return call.SendError(final_response.status());
  call.SendJson(format.WholeResponse(*final_response));
}

void ServeGeneration(const GenerationEndpoint& endpoint, InferenceBackend& backend,
                     const HttpApiOptions& options, const common::HttpRequest& http,
                     common::HttpResponseWriter& writer) {
  HttpApiCall call(options, std::string(endpoint.label), &OpenAiErrorBody, writer);
  if (!call.Admit(http, "POST")) return;
  absl::StatusOr<Json> body = ParseJsonObject(http.body);
  if (!body.ok()) return call.SendError(body.status());
  absl::StatusOr<OpenAiRequest> request = endpoint.parse(*body);
  if (!request.ok()) return call.SendError(request.status());

  OpenAiResponseIdentity identity{.id = NewResponseId(endpoint.id_prefix),
                                  .model = request->generate.model(),
                                  .created = absl::ToUnixSeconds(absl::Now())};
  // The pipeline traces the request under the id the client sees.
  request->generate.set_request_id(identity.id);
  std::unique_ptr<OpenAiResponseFormat> format =
      endpoint.format(std::move(identity), request->generate.sampling().logprobs(),
                      request->stream && request->include_usage);
  const CallContext context{.endpoint = std::string(endpoint.label)};
  if (request->stream) {
    AnswerStreamed(backend, *request, context, *format, call);
  } else {
    AnswerWhole(backend, *request, context, *format, call);
  }
}

void ServeModels(InferenceBackend& backend, const HttpApiOptions& options, int64_t created,
                 const common::HttpRequest& http, common::HttpResponseWriter& writer) {
  HttpApiCall call(options, http.path, &OpenAiErrorBody, writer);
  if (!call.Admit(http, "GET")) return;
  Json data = Json::array();
  const baton::v1::ListModelsResponse models = backend.ListModels();
  for (const baton::v1::ModelInfo& model : models.models()) {
    data.push_back(
        {{"id", model.id()}, {"object", "model"}, {"created", created}, {"owned_by", "baton"}});
  }
  call.SendJson(Json{{"object", "list"}, {"data", std::move(data)}});
}

}  // namespace

void MountOpenAiApi(common::HttpServer& server, InferenceBackend& backend,
                    const HttpApiOptions& options) {
  for (const auto& [path, endpoint] : {std::pair{"/v1/completions", &kCompletions},
                                       std::pair{"/v1/chat/completions", &kChatCompletions}}) {
    server.Handle(path, [&backend, options, endpoint = endpoint](
                            const common::HttpRequest& http, common::HttpResponseWriter& writer) {
      ServeGeneration(*endpoint, backend, options, http, writer);
    });
  }
  // A model's "created" is when the router started serving it.
  const int64_t created = absl::ToUnixSeconds(absl::Now());
  server.Handle("/v1/models", [&backend, options, created](const common::HttpRequest& http,
                                                           common::HttpResponseWriter& writer) {
    ServeModels(backend, options, created, http, writer);
  });
}

}  // namespace baton::router
