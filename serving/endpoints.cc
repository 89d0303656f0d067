#include "serving/endpoints.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "common/status_macros.h"

namespace baton::serving {

absl::StatusOr<std::unique_ptr<Endpoints>> Endpoints::Start(
    const EndpointOptions& options, const std::vector<grpc::Service*>& services,
    std::shared_ptr<prometheus::Registry> registry, common::HealthCheck healthy) {
  auto endpoints = std::unique_ptr<Endpoints>(new Endpoints());
  common::HttpServerOptions http{.host = options.host, .port = options.http_port};
  if (options.https) {
    if (!options.tls.serves_tls()) {
      return absl::InvalidArgumentError("HTTPS needs a TLS certificate and key");
    }
    http.tls_cert = options.tls.cert;
    http.tls_key = options.tls.key;
  }
  ASSIGN_OR_RETURN(endpoints->http_, common::HttpServer::Create(http));
  common::MountMetricsAndHealth(*endpoints->http_, std::move(registry), std::move(healthy));
  if (options.mount_http_routes) options.mount_http_routes(*endpoints->http_);
  RETURN_IF_ERROR(endpoints->http_->Start());
  ASSIGN_OR_RETURN(
      common::StartedGrpcServer grpc,
      common::StartGrpcServer(
          {.host = options.host, .port = options.grpc_port, .tls = options.tls}, services));
  endpoints->grpc_ = std::move(grpc.server);
  endpoints->grpc_port_ = grpc.port;
  endpoints->advertise_host_ =
      options.advertise_host.empty() ? options.host : options.advertise_host;
  return endpoints;
}

std::string Endpoints::advertised_grpc_address() const {
  return absl::StrCat(advertise_host_, ":", grpc_port_);
}

void Endpoints::SetNotServing() {
  if (grpc_ != nullptr) common::SetServing(*grpc_, false);
}

void Endpoints::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (grpc_ != nullptr) {
    grpc_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    grpc_->Wait();
  }
  if (http_ != nullptr) http_->Shutdown();
}

}  // namespace baton::serving
