#include "serving/kv_target_proto.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace baton::serving {

namespace v1 = ::baton::internal::v1;

v1::KvLayout ToProto(const engine::KvLayout& layout) {
  v1::KvLayout out;
  out.set_num_layers(layout.num_layers);
  out.set_num_kv_heads(layout.num_kv_heads);
  out.set_head_dim(layout.head_dim);
  out.set_block_size_tokens(layout.block_size_tokens);
  out.set_dtype(layout.dtype == engine::KvDType::kF32 ? v1::KV_DTYPE_F32 : v1::KV_DTYPE_F16);
  return out;
}

absl::StatusOr<engine::KvLayout> FromProto(const v1::KvLayout& proto) {
  engine::KvLayout out;
  out.num_layers = proto.num_layers();
  out.num_kv_heads = proto.num_kv_heads();
  out.head_dim = proto.head_dim();
  out.block_size_tokens = proto.block_size_tokens();
  switch (proto.dtype()) {
    case v1::KV_DTYPE_F32:
      out.dtype = engine::KvDType::kF32;
      break;
    case v1::KV_DTYPE_F16:
      out.dtype = engine::KvDType::kF16;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown KV dtype ", proto.dtype()));
  }
  return out;
}

v1::KvTarget ToProto(const WireKvTarget& wire) {
  const kvtransfer::KvTarget& t = wire.target;
  v1::KvTarget out;
  out.set_transfer_id(absl::StrCat(t.transfer_id));
  out.set_transport(t.transport);
  out.set_worker_address(t.worker_address);
  const uint64_t pool_bytes = t.layout.PoolBytes(t.pool_num_blocks);
  if (t.remote_keys.empty()) {
    v1::RemoteRegion* region = out.add_regions();
    region->set_base_address(t.base_address);
    region->set_length_bytes(pool_bytes);
  }
  for (const std::string& key : t.remote_keys) {
    v1::RemoteRegion* region = out.add_regions();
    region->set_base_address(t.base_address);
    region->set_length_bytes(pool_bytes);
    region->set_packed_rkey(key);
  }
  for (int32_t block : t.block_ids) out.add_block_ids(block);
  out.set_pool_num_blocks(t.pool_num_blocks);
  *out.mutable_layout() = ToProto(t.layout);
  out.set_num_tokens(wire.num_tokens);
  out.set_checksum(t.checksum);
  if (wire.lease_deadline != absl::InfiniteFuture()) {
    out.set_lease_deadline_unix_micros(absl::ToUnixMicros(wire.lease_deadline));
  }
  return out;
}

absl::StatusOr<WireKvTarget> FromProto(const v1::KvTarget& proto) {
  WireKvTarget wire;
  kvtransfer::KvTarget& t = wire.target;
  if (!absl::SimpleAtoi(proto.transfer_id(), &t.transfer_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed transfer id '", proto.transfer_id(), "'"));
  }
  t.transport = proto.transport();
  t.worker_address = proto.worker_address();
  if (proto.regions_size() > 0) t.base_address = proto.regions(0).base_address();
  for (const v1::RemoteRegion& region : proto.regions()) {
    if (!region.packed_rkey().empty()) t.remote_keys.push_back(region.packed_rkey());
  }
  t.block_ids.assign(proto.block_ids().begin(), proto.block_ids().end());
  t.pool_num_blocks = proto.pool_num_blocks();
  ASSIGN_OR_RETURN(t.layout, FromProto(proto.layout()));
  t.checksum = proto.checksum();
  RETURN_IF_ERROR(kvtransfer::ValidateTarget(t));
  wire.num_tokens = proto.num_tokens();
  if (wire.num_tokens <= 0 ||
      t.layout.BlocksFor(wire.num_tokens) != static_cast<int32_t>(t.block_ids.size())) {
    return absl::InvalidArgumentError(absl::StrCat("target of ", t.block_ids.size(),
                                                   " blocks cannot hold ", wire.num_tokens,
                                                   " prompt tokens exactly"));
  }
  if (proto.lease_deadline_unix_micros() != 0) {
    wire.lease_deadline = absl::FromUnixMicros(proto.lease_deadline_unix_micros());
  }
  return wire;
}

}  // namespace baton::serving
