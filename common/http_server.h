// A small HTTP/1.1 server (Boost.Beast; HTTPS through Asio's OpenSSL streams) that every baton
// binary mounts for /metrics and /healthz, and that the router uses for the OpenAI-compatible
// API, including chunked streaming for SSE.
//
// Threading: one acceptor thread; each connection is served on its own thread with blocking
// reads and writes, so a handler may block (e.g. waiting for tokens of a stream) without stalling
// other connections. Handlers run concurrently and must be thread-safe. Handle() must be called
// before Start().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace baton::common {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // target without the query string
  std::string query;   // after '?', undecoded
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// Writes the response to one request. Either Send() once, or StartStream(), any number of
// Write(), then Finish(). A handler that does neither gets a 500 response.
class HttpResponseWriter {
 public:
  virtual ~HttpResponseWriter() = default;
  virtual void Send(int status, std::string_view content_type, std::string body) = 0;
  // Starts a chunked response. Returns false when the client is gone.
  virtual bool StartStream(int status, std::string_view content_type) = 0;
  // Sends one chunk immediately. Returns false when the client is gone (stop producing).
  virtual bool Write(std::string_view chunk) = 0;
  virtual void Finish() = 0;
  // Adds a header to the response; call before Send/StartStream.
  virtual void AddHeader(std::string name, std::string value) = 0;
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponseWriter&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  int max_connections = 256;
  size_t max_body_bytes = 8 << 20;
  // PEM certificate chain and key: when set, the server speaks HTTPS only (TLS 1.2 or later).
  std::string tls_cert;
  std::string tls_key;
};

class HttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options);
  virtual ~HttpServer() = default;

  // Routes requests whose path equals `path` (any method) to `handler`. Before Start().
  virtual void Handle(std::string path, HttpHandler handler) = 0;
  // Routes requests whose path starts with `prefix` when no exact route matches. Before Start().
  virtual void HandlePrefix(std::string prefix, HttpHandler handler) = 0;
  // Binds and starts accepting. kUnavailable when the address cannot be bound.
  virtual absl::Status Start() = 0;
  // The bound port (after Start).
  virtual int port() const = 0;
  // Stops accepting, closes connections and joins every thread. Idempotent; also run by the
  // destructor.
  virtual void Shutdown() = 0;
};

}  // namespace baton::common
