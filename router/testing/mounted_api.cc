#include "router/testing/mounted_api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace baton::testing {

absl::StatusOr<std::unique_ptr<MountedApi>> MountedApi::Start(MountFunction mount,
                                                              router::HttpApiOptions options) {
  std::unique_ptr<MountedApi> api(new MountedApi());
  absl::StatusOr<std::unique_ptr<common::HttpServer>> server =
      common::HttpServer::Create(common::HttpServerOptions{});
  if (!server.ok()) return server.status();
  api->server_ = std::move(*server);
  MountedApi* self = api.get();
  options.count_request = [self](std::string_view endpoint, int http_status) {
    absl::MutexLock lock(&self->mu_);
    self->counts_.emplace_back(std::string(endpoint), http_status);
  };
  mount(*api->server_, api->backend_, options);
  if (absl::Status started = api->server_->Start(); !started.ok()) return started;
  return api;
}

// The server goes first: its threads may still be calling the backend and the recorder.
MountedApi::~MountedApi() { server_->Shutdown(); }

std::vector<MountedApi::Count> MountedApi::WaitForCounts(size_t n) const {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return counts_.size() >= n; };
  mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  return counts_;
}

std::string RawJsonPost(std::string_view path, std::string_view body,
                        std::string_view extra_headers) {
  return absl::StrCat("POST ", std::string(path), " HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                      "Content-Type: application/json\r\nContent-Length: ", body.size(), "\r\n",
                      std::string(extra_headers), "Connection: close\r\n\r\n", std::string(body));
}

absl::StatusOr<std::string> ReadUntilThenHangUp(int port, std::string_view raw_request,
                                                std::string_view marker) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::UnavailableError("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  absl::StatusOr<std::string> result = absl::UnavailableError(absl::StrCat("connect ", port));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 &&
      ::send(fd, raw_request.data(), raw_request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(raw_request.size())) {
    std::string received;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (received.find(marker) == std::string::npos && absl::Now() < deadline) {
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      received.append(buffer, static_cast<size_t>(n));
    }
    if (received.find(marker) != std::string::npos) {
      result = std::move(received);
    } else {
      result = absl::DeadlineExceededError(
          absl::StrCat("no '", std::string(marker), "' in: ", received));
    }
  }
  ::close(fd);
  return result;
}

}  // namespace baton::testing
