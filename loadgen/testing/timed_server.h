// The router's real front ends (gRPC baton.v1.Inference and the OpenAI HTTP API, on free
// loopback ports) mounted over a TimedBackend: a server whose timing the test chose.
//
// Test-only. Thread-safe once started.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http_server.h"
#include "grpcpp/grpcpp.h"
#include "loadgen/testing/timed_backend.h"
#include "router/api_keys.h"
#include "router/inference_service.h"

namespace baton::loadgen::testing {

class TimedServer {
 public:
  // `api_keys` empty: no key needed.
  static absl::StatusOr<std::unique_ptr<TimedServer>> Start(TimedBackend::TimingFunction timing,
                                                            std::vector<std::string> api_keys = {});
  ~TimedServer();

  std::string grpc_target() const;
  std::string http_target() const;

 private:
  TimedServer(TimedBackend::TimingFunction timing, std::vector<std::string> api_keys);

  TimedBackend backend_;
  router::ApiKeys api_keys_;
  router::InferenceService service_;
  std::unique_ptr<common::HttpServer> http_;
  std::unique_ptr<grpc::Server> grpc_;
  int grpc_port_ = 0;
};

}  // namespace baton::loadgen::testing
