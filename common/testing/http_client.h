// A blocking HTTP/1.1 client for tests (Boost.Beast): one request per connection, chunked
// bodies are de-chunked. Test-only; each call is independent and thread-safe.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace baton::testing {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// Sends `method path` to 127.0.0.1:port with `body` (and Content-Type when non-empty).
absl::StatusOr<HttpResult> HttpCall(int port, const std::string& method, const std::string& path,
                                    const std::string& body = "",
                                    const std::string& content_type = "application/json");

// Writes `raw` bytes to 127.0.0.1:port and returns everything the server sends until it closes
// the connection (or `timeout_ms` passes).
absl::StatusOr<std::string> RawExchange(int port, const std::string& raw, int timeout_ms = 5000);

}  // namespace baton::testing
