// What the router's HTTP front ends (OpenAI-compatible, Ollama) share: how a pipeline status maps
// to an HTTP status, API-key checking, and the options they are mounted with. Each front end
// formats errors its own API's way; the status number comes from here.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "router/api_keys.h"

namespace baton::router {

// 400 kInvalidArgument/kOutOfRange/kFailedPrecondition, 401 kUnauthenticated, 403
// kPermissionDenied, 404 kNotFound, 413 for a body over the limit (front ends detect it), 429
// kResourceExhausted, 499 kCancelled (the client left), 501 kUnimplemented, 503 kUnavailable,
// 504 kDeadlineExceeded, 500 otherwise.
int HttpStatusFor(absl::StatusCode code);

// The error "type" OpenAI's API uses for an HTTP status: invalid_request_error (400, 404, 413),
// authentication_error (401), permission_error (403), rate_limit_error (429), server_error.
std::string_view OpenAiErrorType(int http_status);

struct HttpApiOptions {
  // Null or empty: no key needed. Else every route but health and metrics needs
  // "Authorization: Bearer <key>".
  const ApiKeys* api_keys = nullptr;
  // Called once per answered request with its endpoint label (as CallContext::endpoint, or the
  // route for the others) and HTTP status. May be empty.
  std::function<void(std::string_view endpoint, int http_status)> count_request;
  // Largest request body, in bytes; larger ones get 413.
  size_t max_body_bytes = 4 << 20;
  // Seconds a client is told to wait (Retry-After) with a 429.
  int retry_after_seconds = 1;
};

}  // namespace baton::router
