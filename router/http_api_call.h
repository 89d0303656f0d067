// What both HTTP front ends (OpenAI-compatible, Ollama) do around every call, written once: the
// checks only a front end can make (method, API key, body size), answering an error with the
// HTTP status HttpStatusFor gives (plus Retry-After on 429), and counting each answered call
// exactly once through HttpApiOptions::count_request. Each API renders error bodies its own way.
//
// One HttpApiCall per request, used on that request's connection thread; not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/http_server.h"
#include "nlohmann/json.hpp"
#include "proto/baton/v1/inference.pb.h"
#include "router/http_api.h"

namespace baton::router {

// An error as an HTTP API reports it.
struct ApiError {
  int http_status = 500;
  std::string message;
  // The request field at fault, when one is known.
  std::optional<std::string> param;
};

// HttpStatusFor(status.code()), the status message and the field FieldOf names.
ApiError ApiErrorFromStatus(const absl::Status& status);

// "stop" (end of sequence or a stop string), "length", or "" for a reason the APIs do not name
// (unspecified, cancelled). OpenAI's finish_reason and Ollama's done_reason share these words.
std::string_view FinishReasonText(baton::v1::FinishReason reason);

class HttpApiCall {
 public:
  // Renders an error as the API's response body (JSON).
  using ErrorFormatter = std::string (*)(const ApiError& error);

  // `endpoint` labels the call for count_request. `options` and `writer` must outlive the call.
  HttpApiCall(const HttpApiOptions& options, std::string endpoint, ErrorFormatter format_error,
              common::HttpResponseWriter& writer);

  // Checks the method (405), then the API key (401), then the body size (413). Answers a
  // request that fails and returns false; returns true without answering otherwise.
  bool Admit(const common::HttpRequest& request, std::string_view method);

  // One-shot answers; each counts the call.
  void SendJson(const nlohmann::json& body);
  void SendError(const ApiError& error);
  void SendError(const absl::Status& status) { SendError(ApiErrorFromStatus(status)); }

  // A streamed answer: StartStream (200), Write any number of chunks, then FinishStream with
  // the HTTP status the call came to (200, or that of an error that cut the stream short), which
  // is what gets counted, unless the client left first: that counts as 499, as kCancelled does.
  // StartStream and Write return false once the client is gone.
  bool StartStream(std::string_view content_type);
  bool Write(std::string_view chunk);
  void FinishStream(int http_status);
  bool streaming() const { return streaming_; }

 private:
  void Count(int http_status);

  const HttpApiOptions& options_;
  const std::string endpoint_;
  const ErrorFormatter format_error_;
  common::HttpResponseWriter& writer_;
  bool streaming_ = false;
  bool client_gone_ = false;
  bool counted_ = false;
};

}  // namespace baton::router
