// StreamClient over the router's gRPC API (baton.v1.Inference.Generate, server streaming), with
// gRPC's callback API: each call is a reactor driven by gRPC's own completion threads. The API
// key goes in the "authorization" metadata.
//
// Threading: as StreamClient.
#pragma once

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "loadgen/stream_client.h"
#include "proto/baton/v1/inference.grpc.pb.h"

namespace baton::loadgen {

class GrpcStreamClient : public StreamClient {
 public:
  // `target` is "host:port". The channel connects lazily; an unreachable server fails each call
  // with grpc:UNAVAILABLE.
  GrpcStreamClient(const std::string& target, CallOptions options);
  ~GrpcStreamClient() override;

  void Start(const RequestSpec& spec, CallEvents events) override;

 private:
  class Call;
  void CallEnded();

  const CallOptions options_;
  std::unique_ptr<baton::v1::Inference::Stub> stub_;
  absl::Mutex mu_;
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace baton::loadgen
