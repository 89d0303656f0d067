// StreamClient over the router's OpenAI HTTP API with streaming (server-sent events), on
// Boost.Beast/Asio: one event loop on a few threads runs every call (a connection each, closed
// at the end). The API key goes in "Authorization: Bearer <key>". A status other than 200 ends
// the call as "http:<status>" with the error body's message; an error event inside the stream as
// "stream_error"; a connection that breaks before "data: [DONE]" as "transport".
//
// Threading: as StreamClient. Callbacks run on the event-loop threads.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "loadgen/stream_client.h"

namespace baton::loadgen {

class HttpStreamClient : public StreamClient {
 public:
  // `target` is "host:port", resolved once here (kInvalidArgument for a malformed target,
  // kUnavailable when it does not resolve). `threads` event-loop threads run the calls.
  static absl::StatusOr<std::unique_ptr<HttpStreamClient>> Create(const std::string& target,
                                                                  CallOptions options,
                                                                  int threads = 1);
  ~HttpStreamClient() override;

  void Start(const RequestSpec& spec, CallEvents events) override;

 private:
  class Call;
  HttpStreamClient(CallOptions options, boost::asio::ip::tcp::endpoint endpoint, std::string host);
  void CallEnded();

  const CallOptions options_;
  const boost::asio::ip::tcp::endpoint endpoint_;
  const std::string host_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace baton::loadgen
