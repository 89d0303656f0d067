// Runs requests on fixed workers: one decode worker and a list of prefill workers that requests
// start on in turn and fail over between (handoff.h has the protocol and its failure handling).
// The router itself uses FleetRunner over a worker pool; this client serves tests and tools that
// talk to known workers.
//
// Threading: a DisaggClient is thread-safe (gRPC stubs are); each Generate call blocks its
// caller and uses one extra thread for the Prefill call.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "proto/baton/internal/v1/decode.grpc.pb.h"
#include "proto/baton/internal/v1/prefill.grpc.pb.h"
#include "router/generation_runner.h"

namespace baton::router {

class DisaggClient : public GenerationRunner {
 public:
  // `prefill` may be null when only colocated requests are sent.
  DisaggClient(std::shared_ptr<grpc::Channel> decode, std::shared_ptr<grpc::Channel> prefill);
  // Several prefill workers: requests start on them in turn and fail over to the others.
  DisaggClient(std::shared_ptr<grpc::Channel> decode,
               const std::vector<std::shared_ptr<grpc::Channel>>& prefill);

  // Runs the request to its end. Errors: the workers' statuses (kInvalidArgument,
  // kResourceExhausted from D's reservation, kUnavailable, kDeadlineExceeded, ...); kCancelled
  // when `on_tokens` asked to stop; kFailedPrecondition when a remote prefill is asked of a
  // client without a prefill channel; kInternal when D breaks the protocol (including token
  // messages that carry logprobs for some tokens only: such a message is not relayed).
  absl::StatusOr<DisaggResult> Generate(const DisaggRequest& request,
                                        const TokenCallback& on_tokens = nullptr) override;

 private:
  std::unique_ptr<baton::internal::v1::DecodeService::Stub> decode_;
  std::vector<std::unique_ptr<baton::internal::v1::PrefillService::Stub>> prefill_;
  std::atomic<size_t> next_prefill_{0};
};

}  // namespace baton::router
