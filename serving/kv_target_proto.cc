#include "serving/kv_target_proto.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kvtransfer/kv_target_proto.h"

namespace baton::serving {

namespace v1 = ::baton::internal::v1;

v1::KvTarget WireKvTargetToProto(const WireKvTarget& wire) {
  v1::KvTarget out = kvtransfer::KvTargetToProto(wire.target);
  out.set_num_tokens(wire.num_tokens);
  out.set_cached_prefix_blocks(wire.cached_prefix_blocks);
  if (wire.lease_deadline != absl::InfiniteFuture()) {
    out.set_lease_deadline_unix_micros(absl::ToUnixMicros(wire.lease_deadline));
  }
  return out;
}

absl::StatusOr<WireKvTarget> WireKvTargetFromProto(const v1::KvTarget& proto) {
  WireKvTarget wire;
  ASSIGN_OR_RETURN(wire.target, kvtransfer::KvTargetFromProto(proto));
  wire.num_tokens = proto.num_tokens();
  const kvtransfer::KvTarget& t = wire.target;
  if (wire.num_tokens <= 0 ||
      t.layout.BlocksFor(wire.num_tokens) != static_cast<int32_t>(t.block_ids.size())) {
    return absl::InvalidArgumentError(absl::StrCat("target of ", t.block_ids.size(),
                                                   " blocks cannot hold ", wire.num_tokens,
                                                   " prompt tokens exactly"));
  }
  wire.cached_prefix_blocks = proto.cached_prefix_blocks();
  if (wire.cached_prefix_blocks < 0 ||
      wire.cached_prefix_blocks > static_cast<int32_t>(t.block_ids.size())) {
    return absl::InvalidArgumentError(absl::StrCat("cached_prefix_blocks ",
                                                   wire.cached_prefix_blocks, " outside [0, ",
                                                   t.block_ids.size(), "]"));
  }
  if (proto.lease_deadline_unix_micros() != 0) {
    wire.lease_deadline = absl::FromUnixMicros(proto.lease_deadline_unix_micros());
  }
  return wire;
}

kvtransfer::KvTarget BlocksToWrite(const WireKvTarget& wire) {
  kvtransfer::KvTarget out = wire.target;
  out.block_ids.erase(out.block_ids.begin(), out.block_ids.begin() + wire.cached_prefix_blocks);
  return out;
}

}  // namespace baton::serving
