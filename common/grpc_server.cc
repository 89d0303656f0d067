#include "common/grpc_server.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_credentials.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

namespace baton::common {

absl::StatusOr<StartedGrpcServer> StartGrpcServer(const GrpcServerOptions& options,
                                                  const std::vector<grpc::Service*>& services) {
  // Both are process-wide switches that must be set before the first builder is made.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  StartedGrpcServer started;
  builder.AddListeningPort(absl::StrCat(options.host, ":", options.port),
                           MakeServerCredentials(options.tls), &started.port);
  // Without this a second server could silently share a port (SO_REUSEPORT) with the first.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  for (grpc::Service* service : services) builder.RegisterService(service);
  started.server = builder.BuildAndStart();
  if (started.server == nullptr || started.port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve gRPC on ", options.host, ":", options.port));
  }
  SetServing(*started.server, true);
  return started;
}

void SetServing(grpc::Server& server, bool serving) {
  if (auto* health = server.GetHealthCheckService(); health != nullptr) {
    health->SetServingStatus(serving);
  }
}

}  // namespace baton::common
