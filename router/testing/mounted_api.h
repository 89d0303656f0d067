// For the HTTP front ends' tests: a real common::HttpServer on a free loopback port with one API
// mounted over a FakeBackend, recording every call HttpApiOptions::count_request reports, plus a
// client that hangs up in the middle of a streamed answer.
//
// Test-only. Thread-safe: the server's threads count while the test reads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/http_server.h"
#include "router/http_api.h"
#include "router/inference_backend.h"
#include "router/testing/fake_backend.h"

namespace baton::testing {

class MountedApi {
 public:
  using MountFunction = void (*)(common::HttpServer&, router::InferenceBackend&,
                                 const router::HttpApiOptions&);
  using Count = std::pair<std::string, int>;  // (endpoint, HTTP status)

  // Mounts the API with `options`, whose count_request is replaced by the recorder, and starts
  // serving. `options.api_keys` must outlive the result.
  static absl::StatusOr<std::unique_ptr<MountedApi>> Start(MountFunction mount,
                                                           router::HttpApiOptions options = {});
  ~MountedApi();

  int port() const { return server_->port(); }
  FakeBackend& backend() { return backend_; }

  // Waits (up to 10 s) until `n` calls were counted and returns them all, in order.
  std::vector<Count> WaitForCounts(size_t n) const;

 private:
  MountedApi() = default;

  FakeBackend backend_;
  std::unique_ptr<common::HttpServer> server_;
  mutable absl::Mutex mu_;
  std::vector<Count> counts_ ABSL_GUARDED_BY(mu_);
};

// The bytes of "POST <path>" with a JSON `body`, `extra_headers` (each line ending in "\r\n")
// and "Connection: close", for RawExchange and ReadUntilThenHangUp when a test needs headers.
std::string RawJsonPost(std::string_view path, std::string_view body,
                        std::string_view extra_headers = "");

// Sends `raw_request` to 127.0.0.1:port, reads until `marker` has arrived, then closes the
// connection and returns what was read. kDeadlineExceeded when the marker does not come within
// 10 s, kUnavailable when the connection fails.
absl::StatusOr<std::string> ReadUntilThenHangUp(int port, std::string_view raw_request,
                                                std::string_view marker);

}  // namespace baton::testing
