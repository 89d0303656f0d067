// KvTransport over NCCL point-to-point (ncclSend/ncclRecv), for KV pools in GPU memory. Built
// only with --config=cuda; without it Create returns kUnimplemented.
//
// Protocol: ExpectTransfer makes a fresh ncclUniqueId, which travels as KvTarget::worker_address
// (through the router, over gRPC); the decode side is rank 1 and the prefill side rank 0 of a
// two-rank communicator created for that transfer (non-blocking init, bounded by the deadline).
// Layer l of block i is one ncclSend/ncclRecv pair of LayerBlockBytes(), grouped per layer;
// after the last layer an 8-byte completion (first token) follows. Both sides derive the same
// message order from the block list, so layers must be written in order 0, 1, 2, ... (the
// order in which prefill produces them); another order is kInvalidArgument.
// Checksums are not supported (ExpectTransfer with checksum -> kUnimplemented). Abort, Cancel
// and deadlines abort the communicator (ncclCommAbort), which ends every pending operation.
//
// Threading: thread-safe. Each receiving transfer and each stream runs on its own thread, which
// drives its communicator and CUDA stream; callbacks run on those threads (stream) or on the
// receiver's callback thread (receive).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "kvtransfer/kv_transport.h"

namespace baton::kvtransfer {

inline constexpr char kNcclTransportName[] = "nccl";

class NcclKvTransport : public KvTransport {
 public:
  struct Options {
    int cuda_device = 0;
  };
  // kUnavailable when no CUDA device can be used; kUnimplemented when built without CUDA.
  static absl::StatusOr<std::unique_ptr<NcclKvTransport>> Create(const Options& options);
};

}  // namespace baton::kvtransfer
