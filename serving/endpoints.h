// Starts a worker's two listeners: gRPC (its services plus health and reflection) and HTTP
// (/metrics, /healthz and any routes the caller mounts), and stops them in the right order. Shared by both workers.
//
// Threading: Start and Shutdown from one thread (the worker's owner); the servers themselves are
// thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/http_server.h"
#include "common/metrics.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"
#include "prometheus/registry.h"

namespace baton::serving {

struct EndpointOptions {
  std::string host = "127.0.0.1";
  int grpc_port = 0;  // 0 picks a free port
  int http_port = 0;  // 0 picks a free port
  // Mounts more HTTP routes (the router's APIs) before the server starts. May be empty.
  std::function<void(common::HttpServer&)> mount_http_routes;
  // gRPC over TLS / mutual TLS when tls has a certificate (common/grpc_credentials.h).
  common::TlsMaterial tls;
  // The HTTP port speaks HTTPS with tls's certificate (the router's public port; workers keep
  // plain HTTP for /metrics and /healthz so that Prometheus and probes need no client setup).
  bool https = false;
  // The host others reach this process at (serving/advertise.h); empty: `host`.
  std::string advertise_host;
};

class Endpoints {
 public:
  // `services` must outlive the Endpoints. kUnavailable when a port cannot be bound.
  static absl::StatusOr<std::unique_ptr<Endpoints>> Start(
      const EndpointOptions& options, const std::vector<grpc::Service*>& services,
      std::shared_ptr<prometheus::Registry> registry, common::HealthCheck healthy);
  ~Endpoints() { Shutdown(absl::ZeroDuration()); }

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_->port(); }
  // "advertise_host:grpc_port", what this process tells others to dial.
  std::string advertised_grpc_address() const;
  // Reports NOT_SERVING on grpc.health.v1 (routers stop sending work).
  void SetNotServing();
  // Stops gRPC (calls still open after `grace` are cancelled) and HTTP. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  Endpoints() = default;

  std::unique_ptr<grpc::Server> grpc_;
  int grpc_port_ = 0;
  std::string advertise_host_;
  std::unique_ptr<common::HttpServer> http_;
  bool shut_down_ = false;
};

}  // namespace baton::serving
