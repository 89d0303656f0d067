#include "router/health_check.h"

#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/grpc_status.h"
#include "grpcpp/generic/generic_stub.h"

namespace baton::router {

absl::StatusOr<bool> CheckServing(const std::shared_ptr<grpc::Channel>& channel,
                                  absl::Duration timeout) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  // A worker that just came back: wait for the channel to reconnect rather than fail at once.
  context.set_wait_for_ready(true);
  // HealthCheckRequest{service: ""} serializes to no bytes (one empty slice: a ByteBuffer with
  // none is not a message).
  grpc::Slice empty;
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return common::FromGrpcStatus(status);
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  // HealthCheckResponse{status: SERVING (1)} is field 1 as a varint: bytes 08 01.
  return bytes == std::string("\x08\x01", 2);
}

}  // namespace baton::router
