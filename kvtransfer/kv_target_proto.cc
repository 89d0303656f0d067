#include "kvtransfer/kv_target_proto.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status_macros.h"

namespace baton::kvtransfer {

internal::v1::KvLayout KvLayoutToProto(const engine::KvLayout& layout) {
  internal::v1::KvLayout proto;
  proto.set_num_layers(layout.num_layers);
  proto.set_num_kv_heads(layout.num_kv_heads);
  proto.set_head_dim(layout.head_dim);
  proto.set_block_size_tokens(layout.block_size_tokens);
  proto.set_dtype(layout.dtype == engine::KvDType::kF32 ? internal::v1::KV_DTYPE_F32
                                                        : internal::v1::KV_DTYPE_F16);
  return proto;
}

absl::StatusOr<engine::KvLayout> KvLayoutFromProto(const internal::v1::KvLayout& proto) {
  engine::KvLayout layout;
  layout.num_layers = proto.num_layers();
  layout.num_kv_heads = proto.num_kv_heads();
  layout.head_dim = proto.head_dim();
  layout.block_size_tokens = proto.block_size_tokens();
  switch (proto.dtype()) {
    case internal::v1::KV_DTYPE_F32:
      layout.dtype = engine::KvDType::kF32;
      break;
    case internal::v1::KV_DTYPE_F16:
      layout.dtype = engine::KvDType::kF16;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown KV dtype ", proto.dtype()));
  }
  return layout;
}

internal::v1::KvTarget KvTargetToProto(const KvTarget& target) {
  internal::v1::KvTarget proto;
  proto.set_transfer_id(absl::StrCat(target.transfer_id));
  proto.set_transport(target.transport);
  proto.set_worker_address(target.worker_address);
  const size_t regions = std::max<size_t>(1, target.remote_keys.size());
  for (size_t i = 0; i < regions; ++i) {
    internal::v1::RemoteRegion* region = proto.add_regions();
    region->set_base_address(target.base_address);
    region->set_length_bytes(target.layout.PoolBytes(target.pool_num_blocks));
    if (i < target.remote_keys.size()) region->set_packed_rkey(target.remote_keys[i]);
  }
  for (int32_t block : target.block_ids) proto.add_block_ids(block);
  proto.set_pool_num_blocks(target.pool_num_blocks);
  *proto.mutable_layout() = KvLayoutToProto(target.layout);
  proto.set_num_tokens(target.num_tokens);
  proto.set_checksum(target.checksum);
  if (target.lease_deadline != absl::InfiniteFuture()) {
    proto.set_lease_deadline_unix_micros(absl::ToUnixMicros(target.lease_deadline));
  }
  return proto;
}

absl::StatusOr<KvTarget> KvTargetFromProto(const internal::v1::KvTarget& proto) {
  KvTarget target;
  if (!absl::SimpleAtoi(proto.transfer_id(), &target.transfer_id) || target.transfer_id == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("KvTarget transfer id '", proto.transfer_id(), "' is not a positive integer"));
  }
  target.transport = proto.transport();
  target.worker_address = proto.worker_address();
  for (int i = 0; i < proto.regions_size(); ++i) {
    if (i == 0) target.base_address = proto.regions(0).base_address();
    if (!proto.regions(i).packed_rkey().empty()) {
      target.remote_keys.push_back(proto.regions(i).packed_rkey());
    }
  }
  target.block_ids.assign(proto.block_ids().begin(), proto.block_ids().end());
  target.pool_num_blocks = proto.pool_num_blocks();
  ASSIGN_OR_RETURN(target.layout, KvLayoutFromProto(proto.layout()));
  target.num_tokens = proto.num_tokens();
  target.checksum = proto.checksum();
  if (proto.lease_deadline_unix_micros() != 0) {
    target.lease_deadline = absl::FromUnixMicros(proto.lease_deadline_unix_micros());
  }
  RETURN_IF_ERROR(ValidateTarget(target));
  return target;
}

}  // namespace baton::kvtransfer
