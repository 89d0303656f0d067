// The KvTarget proto of proto/baton/internal/v1/kv.proto that travels D -> router -> P, as the
// workers read it: kvtransfer's own conversion (kvtransfer/kv_target_proto.h) plus the fields
// only the proto carries (the lease deadline, the prompt length and the decode worker's cached
// prefix). KvLayout <-> proto is
// kvtransfer's alone (KvLayoutToProto / KvLayoutFromProto).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kvtransfer/kv_target.h"
#include "proto/baton/internal/v1/kv.pb.h"

namespace baton::serving {

struct WireKvTarget {
  kvtransfer::KvTarget target;
  // When the receiver stops holding the blocks.
  absl::Time lease_deadline = absl::InfiniteFuture();
  // Prompt tokens whose KV the sender must write.
  int32_t num_tokens = 0;
  // Leading entries of target.block_ids the receiver already holds (its prefix cache): the sender
  // writes only the blocks after them.
  int32_t cached_prefix_blocks = 0;
};

// The target the sender writes to: `wire.target` without its first cached_prefix_blocks blocks
// (possibly none left: then only the completion travels).
kvtransfer::KvTarget BlocksToWrite(const WireKvTarget& wire);

baton::internal::v1::KvTarget WireKvTargetToProto(const WireKvTarget& wire);

// kInvalidArgument for a malformed transfer id, an unknown dtype, a prompt length the blocks
// cannot hold, a cached prefix that is negative or longer than the blocks, or anything kvtransfer::ValidateTarget rejects.
absl::StatusOr<WireKvTarget> WireKvTargetFromProto(const baton::internal::v1::KvTarget& proto);

}  // namespace baton::serving
