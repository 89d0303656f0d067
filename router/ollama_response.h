// Renders the backend's answers in Ollama's formats: the objects of a generation (one per
// streamed line, or one whole) and the model-listing replies (/api/tags, /api/show, /api/ps).
// /api/generate and /api/chat differ only in where the text goes ("response" vs a "message").
//
// Stateless functions and an immutable format object; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "proto/baton/v1/inference.pb.h"
#include "router/http_api_call.h"

namespace baton::router {

// {"error": "<message>"}.
std::string OllamaErrorBody(const ApiError& error);

// RFC 3339 in UTC with microseconds ("2024-05-01T12:00:00.000000Z"), as Ollama writes times.
std::string OllamaTime(absl::Time time);

class OllamaReplyFormat {
 public:
  enum class Endpoint { kGenerate, kChat };

  // `model` is echoed as the client named it.
  OllamaReplyFormat(Endpoint endpoint, std::string model);

  // A streamed piece: {model, created_at, response | message, done: false}.
  nlohmann::json Partial(std::string_view text, absl::Time now) const;
  // The last object: done true, done_reason, prompt_eval_count, eval_count and the durations in
  // nanoseconds (total, load (0: models stay loaded), prompt eval (queue + prefill), eval) from
  // the final message. `text` is the whole response when not streamed, empty when it was.
  nlohmann::json Final(std::string_view text, const baton::v1::GenerateResponse& final_response,
                       absl::Time now) const;
  // The answer to a call with nothing to generate: done true, done_reason "load".
  nlohmann::json Loaded(absl::Time now) const;

 private:
  nlohmann::json Reply(std::string_view text, bool done, absl::Time now) const;

  const Endpoint endpoint_;
  const std::string model_;
};

// {"models": [{name, model, modified_at, size, digest, details}]}; sizes and digests are not
// known to the router and read 0 and "".
nlohmann::json OllamaTags(const baton::v1::ListModelsResponse& models, absl::Time modified_at);

// {modelfile, parameters, template, details, model_info {general.architecture,
// <arch>.context_length}, capabilities, modified_at}.
nlohmann::json OllamaShow(const baton::v1::ModelInfo& model, std::string_view chat_template,
                          absl::Time modified_at);

// {"models": [{name, model, size, digest, details, expires_at, size_vram}]}: every served model
// is loaded for good.
nlohmann::json OllamaRunning(const baton::v1::ListModelsResponse& models);

}  // namespace baton::router
