// The one place where absl::Status and grpc::Status convert into each other. The canonical codes
// are numerically identical in both libraries; messages pass through unchanged.
// Stateless; thread-safe.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace baton::common {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace baton::common
