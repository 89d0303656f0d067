// One grpc.health.v1.Health/Check call (the overall "" service) on a worker's channel, without
// generated health stubs: the request is the empty message and SERVING is the answer's status 1.
//
// The call waits for the channel to (re)connect within `timeout`, so a worker that just restarted
// is seen as soon as the channel's reconnect backoff lets it.
//
// Threading: thread-safe; blocks its caller for at most `timeout`.
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace baton::router {

// True when the worker answers SERVING, false for another answer; the call's status (kUnavailable,
// kDeadlineExceeded, ...) when it fails.
absl::StatusOr<bool> CheckServing(const std::shared_ptr<grpc::Channel>& channel,
                                  absl::Duration timeout);

}  // namespace baton::router
