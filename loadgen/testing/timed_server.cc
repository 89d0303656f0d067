#include "loadgen/testing/timed_server.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "router/openai_api.h"

namespace baton::loadgen::testing {

TimedServer::TimedServer(TimedBackend::TimingFunction timing, std::vector<std::string> api_keys)
    : backend_(std::move(timing)),
      api_keys_(router::ApiKeys::FromList(std::move(api_keys))),
      service_(&backend_, &api_keys_, nullptr) {}

absl::StatusOr<std::unique_ptr<TimedServer>> TimedServer::Start(TimedBackend::TimingFunction timing,
                                                                std::vector<std::string> api_keys) {
  std::unique_ptr<TimedServer> server(new TimedServer(std::move(timing), std::move(api_keys)));
  absl::StatusOr<std::unique_ptr<common::HttpServer>> http =
      common::HttpServer::Create(common::HttpServerOptions{});
  if (!http.ok()) return http.status();
  server->http_ = std::move(*http);
  router::MountOpenAiApi(*server->http_, server->backend_,
                         router::HttpApiOptions{.api_keys = &server->api_keys_});
  if (absl::Status started = server->http_->Start(); !started.ok()) return started;
  absl::StatusOr<common::StartedGrpcServer> grpc =
      common::StartGrpcServer(common::GrpcServerOptions{}, {&server->service_});
  if (!grpc.ok()) return grpc.status();
  server->grpc_ = std::move(grpc->server);
  server->grpc_port_ = grpc->port;
  return server;
}

TimedServer::~TimedServer() {
  if (grpc_ != nullptr) grpc_->Shutdown();
  if (http_ != nullptr) http_->Shutdown();
}

std::string TimedServer::grpc_target() const { return absl::StrCat("127.0.0.1:", grpc_port_); }
std::string TimedServer::http_target() const { return absl::StrCat("127.0.0.1:", http_->port()); }

}  // namespace baton::loadgen::testing
