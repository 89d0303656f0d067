#include "engine/kv_cache/block_table.h"

namespace baton::engine {

absl::Status BlockTable::Reserve(KvPool& pool, int64_t num_tokens) {
  const int32_t needed = pool.layout().BlocksFor(num_tokens);
  const int32_t missing = needed - static_cast<int32_t>(blocks_.size());
  if (missing <= 0) return absl::OkStatus();
  absl::StatusOr<std::vector<int32_t>> fresh = pool.Allocate(missing);
  if (!fresh.ok()) return fresh.status();
  blocks_.insert(blocks_.end(), fresh->begin(), fresh->end());
  return absl::OkStatus();
}

absl::Status BlockTable::Release(KvPool& pool) {
  absl::Status status = pool.Free(blocks_);
  blocks_.clear();
  num_tokens_ = 0;
  return status;
}

}  // namespace baton::engine
