// Asks a gRPC server's grpc.health.v1.Health/Check for the overall status ("" service), through
// the generic stub (no generated health stubs needed).
//
// Thread-safe.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace baton::common {

// True for SERVING, false for any other reported status; the call's error (e.g. kUnavailable
// when the server cannot be reached or the TLS handshake fails) otherwise. With wait_for_ready the
// call waits (within `timeout`) for the channel to (re)connect instead of failing at once, so a
// server that just restarted is seen as soon as the channel's reconnect backoff lets it.
absl::StatusOr<bool> CheckGrpcHealth(const std::shared_ptr<grpc::Channel>& channel,
                                     absl::Duration timeout, bool wait_for_ready = false);

}  // namespace baton::common
