#include "common/grpc_health.h"

#include "absl/synchronization/notification.h"
#include "common/grpc_status.h"
#include "grpcpp/generic/generic_stub.h"

namespace baton::common {

absl::StatusOr<bool> CheckGrpcHealth(const std::shared_ptr<grpc::Channel>& channel,
                                     absl::Duration timeout, bool wait_for_ready) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context.set_wait_for_ready(wait_for_ready);
  // HealthCheckRequest{service: ""} serializes to no bytes.
  grpc::ByteBuffer request;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status result;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status status) {
                   result = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!result.ok()) return FromGrpcStatus(result);
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  // HealthCheckResponse{status: SERVING (1)} is field 1 varint 1: bytes 08 01.
  return bytes == std::string("\x08\x01", 2);
}

}  // namespace baton::common
