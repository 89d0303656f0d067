// Builds and starts a gRPC server the way every baton binary serves: the given services, the
// standard health service (grpc.health.v1) and server reflection, on host:port (port 0 picks a
// free port). Thread-safety: Start is called once; the returned server is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"

namespace baton::common {

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  // Largest message accepted (prompts as token ids, KV descriptors).
  int max_receive_message_bytes = 64 << 20;
  // TLS (and mutual TLS) per MakeServerCredentials; default: plaintext.
  TlsMaterial tls;
};

struct StartedGrpcServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

// Registers `services` (not owned; they must outlive the server) and starts serving.
// Returns kUnavailable when the address cannot be bound.
absl::StatusOr<StartedGrpcServer> StartGrpcServer(const GrpcServerOptions& options,
                                                  const std::vector<grpc::Service*>& services);

// Sets the overall serving status reported by grpc.health.v1 ("" service).
void SetServing(grpc::Server& server, bool serving);

}  // namespace baton::common
