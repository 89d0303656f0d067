// KvTarget: where a prefill worker must write one transfer's KV blocks, as the decode worker
// describes it. It travels from the decode worker through the router to the prefill worker (as
// the `KvTarget` proto of proto/baton/internal/v1/kv.proto; see kv_target_proto.h for the
// conversion). This header stays protobuf-free so transports and the engine need no proto code.
//
// Plain value types and pure functions; no threading concerns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/kv_cache/kv_layout.h"

namespace baton::kvtransfer {

// Unique per handoff; chosen by the decode worker. 0 is never a valid id.
using TransferId = uint64_t;

struct KvTarget {
  // Name of the transport that produced this target ("ucx", "nccl", "inprocess"). A sender only
  // accepts targets of its own transport.
  std::string transport;
  // Opaque address of the receiving worker (UCX: packed ucp worker address; NCCL: the unique id;
  // in-process: the receiver's name).
  std::string worker_address;
  // Packed remote memory key(s) of the receiving pool (UCX: ucp_rkey_pack output). May be empty
  // for transports that place data on the receiving side.
  std::vector<std::string> remote_keys;
  // Address of the receiving pool in the receiver's address space; also names the pool when one
  // worker registers several.
  uint64_t base_address = 0;
  // Number of blocks of the receiving pool (the layer stride of engine::KvLayout::Offset).
  int32_t pool_num_blocks = 0;
  // Destination block ids, in prompt order: source block i lands in block_ids[i]. May be empty:
  // the receiver already holds every block (its prefix cache) and only the completion travels.
  std::vector<int32_t> block_ids;
  // Layout of the receiving pool; must equal the sender's.
  engine::KvLayout layout;
  TransferId transfer_id = 0;
  // When set, the sender attaches a checksum per written run and the receiver verifies it.
  bool checksum = false;
  // Prompt tokens whose KV is written (informational; the blocks are what moves).
  int32_t num_tokens = 0;
  // End of the receiver's lease on the blocks as issued: writes after the lease ended are
  // refused. The receiver may extend it (KvReceiver::ExtendDeadline) when its owner renews the
  // lease, so a sender that knows of renewals bounds its writes otherwise.
  absl::Time lease_deadline = absl::InfiniteFuture();
};

// Structural checks on a target received from a peer: non-empty transport and address, a
// positive layout, block ids (possibly none) inside [0, pool_num_blocks) without duplicates, a
// nonzero transfer id. Returns kInvalidArgument naming the first problem.
absl::Status ValidateTarget(const KvTarget& target);

// Whether a sender whose pool has `source` layout may write into `target`. Returns
// kFailedPrecondition (with both layouts in the message) when they differ, OK otherwise. Called
// before any byte moves.
absl::Status CheckLayoutCompatible(const engine::KvLayout& source, const KvTarget& target);

}  // namespace baton::kvtransfer
