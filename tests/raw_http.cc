#include "tests/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/testing/http_client.h"

namespace baton::testing {
namespace {

absl::StatusOr<int> Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("connect to port ", port, " failed"));
  }
  return fd;
}

absl::Status SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return absl::UnavailableError("send failed");
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Undoes Transfer-Encoding: chunked (sizes in hex, each chunk followed by CRLF).
absl::StatusOr<std::string> Dechunk(absl::string_view chunked) {
  std::string body;
  while (true) {
    const size_t line_end = chunked.find("\r\n");
    if (line_end == absl::string_view::npos) return absl::InvalidArgumentError("bad chunk size");
    const absl::string_view size_text = chunked.substr(0, chunked.find_first_of(";\r"));
    size_t size = 0;
    if (!absl::SimpleHexAtoi(size_text, &size)) return absl::InvalidArgumentError("bad chunk");
    if (size == 0) return body;
    if (chunked.size() < line_end + 2 + size) return absl::InvalidArgumentError("short chunk");
    absl::StrAppend(&body, chunked.substr(line_end + 2, size));
    chunked.remove_prefix(std::min(chunked.size(), line_end + 2 + size + 2));
  }
}

}  // namespace

std::string RequestText(const std::string& method, const std::string& path,
                        const std::map<std::string, std::string>& headers,
                        const std::string& body) {
  std::string text = absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                                  "Connection: close\r\nContent-Length: ", body.size(), "\r\n");
  for (const auto& [name, value] : headers) absl::StrAppend(&text, name, ": ", value, "\r\n");
  absl::StrAppend(&text, "\r\n", body);
  return text;
}

absl::StatusOr<RawHttpResponse> ParseResponse(const std::string& raw) {
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("no complete response head in: ", raw));
  }
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(raw).substr(0, head_end), "\r\n");
  std::vector<absl::string_view> status_line = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  RawHttpResponse response;
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &response.status)) {
    return absl::InvalidArgumentError(absl::StrCat("bad status line: ", lines[0]));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> field =
        absl::StrSplit(lines[i], absl::MaxSplits(':', 1));
    response.headers[absl::AsciiStrToLower(field.first)] =
        std::string(absl::StripAsciiWhitespace(field.second));
  }
  const std::string body = raw.substr(head_end + 4);
  if (absl::AsciiStrToLower(response.headers["transfer-encoding"]) == "chunked") {
    absl::StatusOr<std::string> dechunked = Dechunk(body);
    if (!dechunked.ok()) return dechunked.status();
    response.body = *std::move(dechunked);
  } else {
    response.body = body;
  }
  return response;
}

absl::StatusOr<RawHttpResponse> SendRaw(int port, const std::string& request) {
  absl::StatusOr<std::string> raw = RawExchange(port, request, /*timeout_ms=*/30000);
  if (!raw.ok()) return raw.status();
  return ParseResponse(*raw);
}

absl::StatusOr<std::unique_ptr<StreamingRequest>> StreamingRequest::Send(
    int port, const std::string& request) {
  absl::StatusOr<int> fd = Connect(port);
  if (!fd.ok()) return fd.status();
  auto stream = std::unique_ptr<StreamingRequest>(new StreamingRequest(*fd));
  if (absl::Status sent = SendAll(*fd, request); !sent.ok()) return sent;
  return stream;
}

StreamingRequest::~StreamingRequest() { ::close(fd_); }

absl::StatusOr<std::string> StreamingRequest::ReadUntil(const std::string& needle,
                                                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (received_.find(needle) == std::string::npos) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat("no '", needle, "' in: ", received_));
    }
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return absl::UnavailableError(absl::StrCat("closed before '", needle, "'"));
    received_.append(chunk, static_cast<size_t>(n));
  }
  return received_;
}

}  // namespace baton::testing
