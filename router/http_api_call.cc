#include "router/http_api_call.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "router/json_fields.h"

namespace baton::router {

ApiError ApiErrorFromStatus(const absl::Status& status) {
  return ApiError{.http_status = HttpStatusFor(status.code()),
                  .message = std::string(status.message()),
                  .param = FieldOf(status)};
}

std::string_view FinishReasonText(baton::v1::FinishReason reason) {
  switch (reason) {
    case baton::v1::FINISH_REASON_STOP:
    case baton::v1::FINISH_REASON_STOP_STRING:
      return "stop";
    case baton::v1::FINISH_REASON_LENGTH:
      return "length";
    default:
      return "";
  }
}

HttpApiCall::HttpApiCall(const HttpApiOptions& options, std::string endpoint,
                         ErrorFormatter format_error, common::HttpResponseWriter& writer)
    : options_(options),
      endpoint_(std::move(endpoint)),
      format_error_(format_error),
      writer_(writer) {}

bool HttpApiCall::Admit(const common::HttpRequest& request, std::string_view method) {
  if (request.method != method) {
    writer_.AddHeader("Allow", std::string(method));
    SendError(ApiError{.http_status = 405,
                       .message = absl::StrCat(request.path, " takes ", std::string(method),
                                               ", not ", request.method)});
    return false;
  }
  if (options_.api_keys != nullptr) {
    const auto it = request.headers.find("authorization");
    absl::Status access = options_.api_keys->Check(it == request.headers.end() ? "" : it->second);
    if (!access.ok()) {
      SendError(access);
      return false;
    }
  }
  // Checked after the key so that an anonymous client learns nothing about the limits.
  if (request.body.size() > options_.max_body_bytes) {
    SendError(ApiError{.http_status = 413,
                       .message = absl::StrCat("the request body has ", request.body.size(),
                                               " bytes; the limit is ", options_.max_body_bytes)});
    return false;
  }
  return true;
}

void HttpApiCall::SendJson(const nlohmann::json& body) {
  Count(200);
  writer_.Send(200, "application/json", DumpJson(body));
}

void HttpApiCall::SendError(const ApiError& error) {
  if (error.http_status == 429) {
    writer_.AddHeader("Retry-After", absl::StrCat(options_.retry_after_seconds));
  }
  // Counted before the bytes leave, so whoever reads the answer also sees it counted.
  Count(error.http_status);
  writer_.Send(error.http_status, "application/json", format_error_(error));
}

bool HttpApiCall::StartStream(std::string_view content_type) {
  streaming_ = true;
  if (!writer_.StartStream(200, content_type)) client_gone_ = true;
  return !client_gone_;
}

bool HttpApiCall::Write(std::string_view chunk) {
  if (!client_gone_ && !writer_.Write(chunk)) client_gone_ = true;
  return !client_gone_;
}

void HttpApiCall::FinishStream(int http_status) {
  Count(client_gone_ ? HttpStatusFor(absl::StatusCode::kCancelled) : http_status);
  writer_.Finish();
}

void HttpApiCall::Count(int http_status) {
  if (counted_) return;
  counted_ = true;
  if (options_.count_request) options_.count_request(endpoint_, http_status);
}

}  // namespace baton::router
