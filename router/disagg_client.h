// The router's core handoff: runs one request on a (prefill, decode) worker pair.
//
//   1. open DecodeService.Decode on D; its first message is the KvTarget (D reserved blocks)
//   2. call PrefillService.Prefill on P with the prompt, sampling and that KvTarget
//      (on its own thread, while 3. reads the stream)
//   3. relay D's token messages to the caller until D's final message (the first one carries
//      the first token, which P sampled and handed to D with the KV, and its logprobs)
// In colocated mode (local_prefill) step 2 is skipped: D prefills itself.
//
// Failure handling: when a prefill worker is unavailable or overloaded (UNAVAILABLE,
// RESOURCE_EXHAUSTED), the same KvTarget goes to the next prefill worker while D's lease lasts
// (D accepts rewrites of a transfer until it completes). When Prefill fails for good, the Decode
// call is cancelled (D frees the blocks) and the prefill's status is returned; when Decode fails or
// the caller stops (TokenCallback returns false), the Prefill call is cancelled (P drops or aborts
// the transfer).
//
// Threading: a DisaggClient is thread-safe (gRPC stubs are); each Generate call blocks its
// caller and uses one extra thread for the Prefill call.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
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
