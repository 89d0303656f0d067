#include "kvtransfer/kv_target.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace baton::kvtransfer {

absl::Status ValidateTarget(const KvTarget& target) {
  if (target.transport.empty()) return absl::InvalidArgumentError("KvTarget has no transport");
  if (target.worker_address.empty()) {
    return absl::InvalidArgumentError("KvTarget has no worker address");
  }
  if (target.transfer_id == 0) return absl::InvalidArgumentError("KvTarget has transfer id 0");
  const engine::KvLayout& layout = target.layout;
  if (layout.num_layers <= 0 || layout.num_kv_heads <= 0 || layout.head_dim <= 0 ||
      layout.block_size_tokens <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("KvTarget has a non-positive layout: ", layout.DebugString()));
  }
  if (layout.dtype != engine::KvDType::kF16 && layout.dtype != engine::KvDType::kF32) {
    return absl::InvalidArgumentError("KvTarget has an unknown dtype");
  }
  if (target.pool_num_blocks <= 0) {
    return absl::InvalidArgumentError("KvTarget has a non-positive pool size");
  }
  std::vector<bool> seen(target.pool_num_blocks, false);
  for (int32_t block : target.block_ids) {
    if (block < 0 || block >= target.pool_num_blocks) {
      return absl::InvalidArgumentError(absl::StrCat(
          "KvTarget block ", block, " outside a pool of ", target.pool_num_blocks, " blocks"));
    }
    if (seen[block]) {
      return absl::InvalidArgumentError(absl::StrCat("KvTarget lists block ", block, " twice"));
    }
    seen[block] = true;
  }
  return absl::OkStatus();
}

absl::Status CheckLayoutCompatible(const engine::KvLayout& source, const KvTarget& target) {
  if (source != target.layout) {
    return absl::FailedPreconditionError(absl::StrCat("KV layout mismatch: sender has ",
                                                      source.DebugString(), ", receiver has ",
                                                      target.layout.DebugString()));
  }
  return absl::OkStatus();
}

}  // namespace baton::kvtransfer
