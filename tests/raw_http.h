// Test support: HTTP/1.1 on a plain socket, for what common/testing/http_client cannot do: send
// any header (Authorization) or bytes (broken JSON, invalid UTF-8), and walk away from a
// response mid-stream (a client that disconnects).
//
// Stateless functions are thread-safe; a StreamingRequest is used by one thread.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace baton::testing {

struct RawHttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // de-chunked
};

// "POST /path HTTP/1.1" with Host, Content-Length, Connection: close and `headers`, then `body`.
std::string RequestText(const std::string& method, const std::string& path,
                        const std::map<std::string, std::string>& headers, const std::string& body);

// Parses a whole response as the server sent it (kInvalidArgument when it is not one).
absl::StatusOr<RawHttpResponse> ParseResponse(const std::string& raw);

// Sends `request` (RequestText) to 127.0.0.1:port and parses what comes back until the server
// closes the connection.
absl::StatusOr<RawHttpResponse> SendRaw(int port, const std::string& request);

// A request whose response is read only as far as the test wants; the destructor closes the
// socket, which is how the client disconnects.
class StreamingRequest {
 public:
  static absl::StatusOr<std::unique_ptr<StreamingRequest>> Send(int port,
                                                                const std::string& request);
  ~StreamingRequest();
  // Reads until what arrived contains `needle`; kDeadlineExceeded after `timeout`, kUnavailable
  // when the server closed first. Returns everything received so far.
  absl::StatusOr<std::string> ReadUntil(const std::string& needle, absl::Duration timeout);

 private:
  explicit StreamingRequest(int fd) : fd_(fd) {}
  int fd_;
  std::string received_;
};

}  // namespace baton::testing
