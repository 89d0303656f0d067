// The one conversion each from ncclResult_t and cudaError_t to absl::Status. CUDA builds only.
// Pure functions; no threading concerns.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace baton::kvtransfer {

// ncclSuccess -> OK; ncclRemoteError/ncclSystemError (peer gone, socket errors) ->
// kUnavailable; ncclInvalidArgument/ncclInvalidUsage -> kInvalidArgument; ncclInProgress ->
// kDeadlineExceeded (an operation still pending when its deadline passed); others -> kInternal.
absl::Status NcclToStatus(ncclResult_t result, absl::string_view what);

// cudaSuccess -> OK; no device / insufficient driver -> kUnavailable; out of memory ->
// kResourceExhausted; invalid values -> kInvalidArgument; others -> kInternal.
absl::Status CudaToStatus(cudaError_t error, absl::string_view what);

}  // namespace baton::kvtransfer
