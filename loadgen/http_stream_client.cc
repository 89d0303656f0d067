#include "loadgen/http_stream_client.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "loadgen/openai_event.h"
#include "loadgen/sse_parser.h"

namespace baton::loadgen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// One call: connect, write the request, read the header, then read the body as it arrives and
// feed it to the SSE parser. Every step holds a shared_ptr to the call; Finish runs once.
class HttpStreamClient::Call : public std::enable_shared_from_this<Call> {
 public:
  Call(HttpStreamClient* client, const RequestSpec& spec, CallEvents events)
      : client_(client), stream_(client->io_), events_(std::move(events)) {
    const CallOptions& options = client->options_;
    request_.method(http::verb::post);
    request_.target(OpenAiPath(options.mode));
    request_.version(11);
    request_.set(http::field::host, client->host_);
    request_.set(http::field::content_type, "application/json");
    request_.set(http::field::accept, "text/event-stream");
    if (!options.api_key.empty()) {
      request_.set(http::field::authorization, absl::StrCat("Bearer ", options.api_key));
    }
    request_.keep_alive(false);
    request_.body() = OpenAiRequestBody(spec, options);
    request_.prepare_payload();
    // A number, not boost::none: Boost 1.74 compares a Content-Length against an empty limit
    // as if it were exceeded.
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  void Begin() {
    stream_.expires_after(absl::ToChronoNanoseconds(client_->options_.timeout));
    stream_.async_connect(client_->endpoint_, [self = shared_from_this()](beast::error_code ec) {
      self->OnConnect(ec);
    });
  }

 private:
  void OnConnect(beast::error_code ec) {
    if (ec) return Fail(ec, "connect");
    http::async_write(stream_, request_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Fail(ec, "transport");
      http::async_read_header(self->stream_, self->buffer_, self->parser_,
                              [self](beast::error_code ec, size_t) {
                                if (ec) return self->Fail(ec, "transport");
                                self->status_ = self->parser_.get().result_int();
                                self->ReadSome();
                              });
    });
  }

  void ReadSome() {
    if (parser_.is_done()) return Complete();
    parser_.get().body().data = body_;
    parser_.get().body().size = sizeof(body_);
    http::async_read_some(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};  // the body buffer filled: not an error
    const size_t bytes = sizeof(body_) - parser_.get().body().size;
    if (status_ == 200) {
      for (const std::string& payload : sse_.Feed(absl::string_view(body_, bytes))) {
        OnEvent(ParseOpenAiEvent(payload));
      }
    } else {
      error_body_.append(body_, bytes);
    }
    if (ec) return Fail(ec, "transport");
    ReadSome();
  }

  void OnEvent(const OpenAiEvent& event) {
    switch (event.kind) {
      case OpenAiEvent::Kind::kOutput:
        events_.on_chunk(1);
        break;
      case OpenAiEvent::Kind::kUsage:
        result_.prompt_tokens = event.prompt_tokens;
        result_.completion_tokens = event.completion_tokens;
        break;
      case OpenAiEvent::Kind::kDone:
        saw_done_ = true;
        break;
      case OpenAiEvent::Kind::kError:
        if (stream_error_.empty()) stream_error_ = event.message;
        break;
      case OpenAiEvent::Kind::kNothing:
        break;
    }
  }

  // The whole response was read.
  void Complete() {
    if (status_ != 200) {
      result_.error_code = absl::StrCat("http:", status_);
      result_.error_message = OpenAiErrorMessage(error_body_);
    } else if (!stream_error_.empty()) {
      result_.error_code = "stream_error";
      result_.error_message = stream_error_;
    } else if (!saw_done_) {
      result_.error_code = "transport";
      result_.error_message = "the stream ended without data: [DONE]";
    } else {
      result_.ok = true;
    }
    Finish();
  }

  void Fail(beast::error_code ec, const char* code) {
    result_.error_code = ec == beast::error::timeout ? "timeout" : code;
    result_.error_message = ec.message();
    if (!stream_error_.empty()) result_.error_message += " after: " + stream_error_;
    Finish();
  }

  void Finish() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    events_.on_done(result_);
    client_->CallEnded();
  }

  HttpStreamClient* client_;
  beast::tcp_stream stream_;
  CallEvents events_;
  http::request<http::string_body> request_;
  http::response_parser<http::buffer_body> parser_;
  beast::flat_buffer buffer_;
  char body_[16384];
  SseParser sse_;
  int status_ = 0;
  std::string error_body_;
  std::string stream_error_;
  bool saw_done_ = false;
  CallResult result_;
};

absl::StatusOr<std::unique_ptr<HttpStreamClient>> HttpStreamClient::Create(
    const std::string& target, CallOptions options, int threads) {
  const size_t colon = target.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(target.substr(colon + 1), &port) ||
      port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("'", target, "' is not host:port"));
  }
  const std::string host = target.substr(0, colon);
  asio::io_context resolver_io;
  tcp::resolver resolver(resolver_io);
  beast::error_code ec;
  const tcp::resolver::results_type results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", ec.message()));
  }
  std::unique_ptr<HttpStreamClient> client(
      new HttpStreamClient(std::move(options), results.begin()->endpoint(), target));
  for (int i = 0; i < std::max(1, threads); ++i) {
    client->threads_.emplace_back([io = &client->io_] { io->run(); });
  }
  return client;
}

HttpStreamClient::HttpStreamClient(CallOptions options, tcp::endpoint endpoint, std::string host)
    : options_(std::move(options)),
      endpoint_(std::move(endpoint)),
      host_(std::move(host)),
      work_(asio::make_work_guard(io_)) {}

HttpStreamClient::~HttpStreamClient() {
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int64_t* running) { return *running == 0; }, &running_));
  }
  work_.reset();
  io_.stop();
  for (std::thread& thread : threads_) thread.join();
}

void HttpStreamClient::Start(const RequestSpec& spec, CallEvents events) {
  {
    absl::MutexLock lock(&mu_);
    ++running_;
  }
  auto call = std::make_shared<Call>(this, spec, std::move(events));
  asio::post(io_, [call] { call->Begin(); });
}

void HttpStreamClient::CallEnded() {
  absl::MutexLock lock(&mu_);
  --running_;
}

}  // namespace baton::loadgen
