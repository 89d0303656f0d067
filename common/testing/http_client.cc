#include "common/testing/http_client.h"

#include <poll.h>
#include <sys/socket.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace baton::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

absl::Status Connect(asio::io_context& io, tcp::socket& socket, int port) {
  beast::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                               static_cast<unsigned short>(port)),
                 ec);
  if (ec) return absl::UnavailableError(absl::StrCat("connect: ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HttpResult> HttpCall(int port, const std::string& method, const std::string& path,
                                    const std::string& body, const std::string& content_type) {
  asio::io_context io;
  tcp::socket socket(io);
  if (absl::Status s = Connect(io, socket, port); !s.ok()) return s;
  http::request<http::string_body> request(http::string_to_verb(method), path, 11);
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::connection, "close");
  if (!body.empty()) request.set(http::field::content_type, content_type);
  request.body() = body;
  request.prepare_payload();
  beast::error_code ec;
  http::write(socket, request, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("write: ", ec.message()));
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 << 20);
  http::read(socket, buffer, parser, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("read: ", ec.message()));
  HttpResult result;
  result.status = parser.get().result_int();
  for (const auto& field : parser.get()) {
    result.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
        std::string(field.value());
  }
  result.body = parser.get().body();
  return result;
}

absl::StatusOr<std::string> RawExchange(int port, const std::string& raw, int timeout_ms) {
  asio::io_context io;
  tcp::socket socket(io);
  if (absl::Status s = Connect(io, socket, port); !s.ok()) return s;
  beast::error_code ec;
  asio::write(socket, asio::buffer(raw), ec);
  if (ec) return absl::UnavailableError(absl::StrCat("write: ", ec.message()));
  std::string received;
  char chunk[4096];
  pollfd pfd{socket.native_handle(), POLLIN, 0};
  while (::poll(&pfd, 1, timeout_ms) > 0) {
    const ssize_t n = ::recv(socket.native_handle(), chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    received.append(chunk, static_cast<size_t>(n));
  }
  return received;
}

}  // namespace baton::testing
