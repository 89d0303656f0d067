// Conversion between kvtransfer::KvTarget and its wire form, baton.internal.v1.KvTarget
// (proto/baton/internal/v1/kv.proto), and of the engine::KvLayout inside it: the one owner of
// KvLayout <-> proto, which the workers' load reports call too. The only place kvtransfer
// touches protobuf.
// Pure functions; no threading concerns.
#pragma once

#include "absl/status/statusor.h"
#include "kvtransfer/kv_target.h"
#include "proto/baton/internal/v1/kv.pb.h"

namespace baton::kvtransfer {

// Fills every field of the proto.
internal::v1::KvLayout KvLayoutToProto(const engine::KvLayout& layout);

// kInvalidArgument for an unknown dtype. The sizes are copied as they are; whoever uses the
// layout validates them (ValidateTarget for a KvTarget's).
absl::StatusOr<engine::KvLayout> KvLayoutFromProto(const internal::v1::KvLayout& proto);

// Fills every field of the proto. The pool's base address travels as regions[0] (with its
// length and the first remote key, if any); further remote keys as further regions.
internal::v1::KvTarget KvTargetToProto(const KvTarget& target);

// Parses a proto received from a peer, then ValidateTarget()s it. kInvalidArgument for a
// transfer id that is not a positive decimal integer, an unknown dtype, or anything
// ValidateTarget rejects.
absl::StatusOr<KvTarget> KvTargetFromProto(const internal::v1::KvTarget& proto);

}  // namespace baton::kvtransfer
