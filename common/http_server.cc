#include "common/http_server.h"

#include <sys/socket.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "common/logging.h"

namespace baton::common {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

// Stream is tcp::socket (HTTP) or ssl::stream<tcp::socket&> (HTTPS).
template <class Stream>
class BeastResponseWriter : public HttpResponseWriter {
 public:
  BeastResponseWriter(Stream& socket, bool keep_alive) : socket_(socket), keep_alive_(keep_alive) {}

  void Send(int status, std::string_view content_type, std::string body) override {
    if (responded_) return;
    responded_ = true;
    http::response<http::string_body> response(static_cast<http::status>(status), 11);
    response.set(http::field::content_type,
                 beast::string_view(content_type.data(), content_type.size()));
    for (auto& [name, value] : headers_) response.set(name, value);
    response.keep_alive(keep_alive_);
    response.body() = std::move(body);
    response.prepare_payload();
    beast::error_code ec;
    http::write(socket_, response, ec);
    if (ec) client_gone_ = true;
  }

  bool StartStream(int status, std::string_view content_type) override {
    if (responded_) return false;
    responded_ = true;
    streaming_ = true;
    std::string head = absl::StrCat("HTTP/1.1 ", status, " ",
                                    std::string(http::obsolete_reason(
                                        static_cast<http::status>(status))),
                                    "\r\nContent-Type: ", std::string(content_type),
                                    "\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache\r\n");
    for (auto& [name, value] : headers_) absl::StrAppend(&head, name, ": ", value, "\r\n");
    absl::StrAppend(&head, keep_alive_ ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
    return WriteRaw(head);
  }

  bool Write(std::string_view chunk) override {
    if (!streaming_ || client_gone_) return false;
    if (chunk.empty()) return true;  // an empty chunk would end the stream
    char size[32];
    const int n = std::snprintf(size, sizeof(size), "%zx\r\n", chunk.size());
    return WriteRaw(std::string_view(size, n)) && WriteRaw(chunk) && WriteRaw("\r\n");
  }

  void Finish() override {
    if (!streaming_ || finished_) return;
    finished_ = true;
    WriteRaw("0\r\n\r\n");
  }

  void AddHeader(std::string name, std::string value) override {
    headers_.emplace_back(std::move(name), std::move(value));
  }

  bool responded() const { return responded_; }
  bool reusable() const { return keep_alive_ && !client_gone_ && (!streaming_ || finished_); }

 private:
  bool WriteRaw(std::string_view bytes) {
    if (client_gone_) return false;
    beast::error_code ec;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec) client_gone_ = true;
    return !client_gone_;
  }

  Stream& socket_;
  bool keep_alive_;
  bool responded_ = false;
  bool streaming_ = false;
  bool finished_ = false;
  bool client_gone_ = false;
  std::vector<std::pair<std::string, std::string>> headers_;
};

class BeastHttpServer : public HttpServer {
 public:
  explicit BeastHttpServer(const HttpServerOptions& options)
      : options_(options), acceptor_(io_), tls_(ssl::context::tls_server) {}

  // Loads the certificate and key when the server speaks HTTPS.
  absl::Status SetUpTls() {
    if (options_.tls_cert.empty()) return absl::OkStatus();
    beast::error_code ec;
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1,
                     ec);
    if (!ec) {
      tls_.use_certificate_chain(asio::buffer(options_.tls_cert.data(), options_.tls_cert.size()),
                                 ec);
    }
    if (!ec) {
      tls_.use_private_key(asio::buffer(options_.tls_key.data(), options_.tls_key.size()),
                           ssl::context::pem, ec);
    }
    if (ec) return absl::InvalidArgumentError(absl::StrCat("HTTPS certificate: ", ec.message()));
    return absl::OkStatus();
  }
  ~BeastHttpServer() override { Shutdown(); }

  void Handle(std::string path, HttpHandler handler) override {
    exact_[std::move(path)] = std::move(handler);
  }
  void HandlePrefix(std::string prefix, HttpHandler handler) override {
    prefixes_.emplace_back(std::move(prefix), std::move(handler));
  }

  absl::Status Start() override {
    beast::error_code ec;
    const auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("bad host ", options_.host));
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options_.host, ":", options_.port, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  void Shutdown() override {
    if (stopping_.exchange(true)) return;
    beast::error_code ec;
    // A blocking accept() is only woken by shutdown(2) on the listening socket, not by close.
    if (acceptor_.is_open()) ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (accept_thread_.joinable()) accept_thread_.join();
    acceptor_.close(ec);
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      for (tcp::socket* socket : open_sockets_) {
        socket->shutdown(tcp::socket::shutdown_both, ec);
      }
      threads.swap(connection_threads_);
    }
    for (std::thread& t : threads) t.join();
  }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      tcp::socket socket(io_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec) {
        if (stopping_) return;
        continue;
      }
      absl::MutexLock lock(&mu_);
      ReapFinishedLocked();
      if (static_cast<int>(open_sockets_.size()) >= options_.max_connections) {
        static constexpr std::string_view kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        asio::write(socket, asio::buffer(kBusy.data(), kBusy.size()), ec);
        continue;
      }
      auto owned = std::make_shared<tcp::socket>(std::move(socket));
      open_sockets_.push_back(owned.get());
      connection_threads_.emplace_back([this, owned] {
        if (options_.tls_cert.empty()) {
          ServeConnection(*owned);
        } else {
          ServeTlsConnection(*owned);
        }
        absl::MutexLock lock(&mu_);
        std::erase(open_sockets_, owned.get());
        finished_ids_.push_back(std::this_thread::get_id());
      });
    }
  }

  // Joins threads whose connection ended, so long-running servers do not accumulate them.
  void ReapFinishedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (std::thread::id id : finished_ids_) {
      for (auto it = connection_threads_.begin(); it != connection_threads_.end(); ++it) {
        if (it->get_id() == id) {
          it->join();
          connection_threads_.erase(it);
          break;
        }
      }
    }
    finished_ids_.clear();
  }

  void ServeTlsConnection(tcp::socket& socket) {
    ssl::stream<tcp::socket&> stream(socket, tls_);
    beast::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    if (!ec) {
      Serve(stream);
      stream.shutdown(ec);
    }
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  void ServeConnection(tcp::socket& socket) {
    Serve(socket);
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  template <class Stream>
  void Serve(Stream& socket) {
    beast::flat_buffer buffer;
    while (!stopping_) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      parser.header_limit(64 * 1024);
      beast::error_code ec;
      http::read(socket, buffer, parser, ec);
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
          ec == ssl::error::stream_truncated) {
        break;
      }
      if (ec) {
        const int status = ec == http::error::body_limit ? 413 : 400;
        BeastResponseWriter<Stream> writer(socket, /*keep_alive=*/false);
        writer.Send(status, "text/plain", absl::StrCat("bad request: ", ec.message(), "\n"));
        break;
      }
      const auto& message = parser.get();
      HttpRequest request;
      request.method = std::string(message.method_string());
      const std::string target(message.target());
      const size_t q = target.find('?');
      request.path = target.substr(0, q);
      if (q != std::string::npos) request.query = target.substr(q + 1);
      for (const auto& field : message) {
        request.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
            std::string(field.value());
      }
      request.body = message.body();

      BeastResponseWriter<Stream> writer(socket, message.keep_alive());
      Dispatch(request, writer);
      if (!writer.responded()) writer.Send(500, "text/plain", "handler sent no response\n");
      if (!writer.reusable()) break;
    }
  }

  void Dispatch(const HttpRequest& request, HttpResponseWriter& writer) {
    if (auto it = exact_.find(request.path); it != exact_.end()) {
      it->second(request, writer);
      return;
    }
    for (const auto& [prefix, handler] : prefixes_) {
      if (absl::StartsWith(request.path, prefix)) {
        handler(request, writer);
        return;
      }
    }
    writer.Send(404, "text/plain", absl::StrCat("no such path: ", request.path, "\n"));
  }

  const HttpServerOptions options_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  ssl::context tls_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::map<std::string, HttpHandler> exact_;
  std::vector<std::pair<std::string, HttpHandler>> prefixes_;

  absl::Mutex mu_;
  std::vector<tcp::socket*> open_sockets_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> connection_threads_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread::id> finished_ids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options) {
  if (options.max_connections <= 0) {
    return absl::InvalidArgumentError("max_connections must be positive");
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("HTTPS needs both a certificate and a key");
  }
  auto server = std::make_unique<BeastHttpServer>(options);
  absl::Status tls = server->SetUpTls();
  if (!tls.ok()) return tls;
  return server;
}

}  // namespace baton::common
