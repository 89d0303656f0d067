#include "engine/kv_cache/block_table.h"

#include <algorithm>

#include "absl/types/span.h"
#include "engine/kv_cache/prefix_hash.h"

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
  names_.clear();
  num_tokens_ = 0;
  return status;
}

int32_t BlockTable::AdoptCachedPrefix(KvPool& pool, uint64_t seed,
                                      std::span<const int32_t> tokens, int32_t max_blocks) {
  if (!blocks_.empty() || max_blocks <= 0) return 0;
  const int32_t block_size = pool.layout().block_size_tokens;
  const size_t usable =
      std::min(tokens.size(), static_cast<size_t>(max_blocks) * static_cast<size_t>(block_size));
  std::vector<uint64_t> names = kv_cache::PrefixBlockHashes(
      seed, absl::MakeConstSpan(tokens.data(), usable), block_size);
  blocks_ = pool.AcquireCached(names);
  names.resize(blocks_.size());
  names_ = std::move(names);
  num_tokens_ = static_cast<int32_t>(blocks_.size()) * block_size;
  return static_cast<int32_t>(blocks_.size());
}

absl::Status BlockTable::PublishFullBlocks(KvPool& pool, uint64_t seed,
                                           std::span<const int32_t> tokens) {
  const int32_t block_size = pool.layout().block_size_tokens;
  const size_t full = std::min(static_cast<size_t>(num_tokens_ / block_size), blocks_.size());
  if (tokens.size() < full * static_cast<size_t>(block_size)) {
    return absl::InvalidArgumentError("fewer tokens than the table's filled positions");
  }
  for (size_t b = names_.size(); b < full; ++b) {
    const uint64_t previous = b == 0 ? seed : names_[b - 1];
    const uint64_t name = kv_cache::PrefixBlockHash(
        previous, absl::MakeConstSpan(tokens.data() + b * block_size, block_size));
    absl::StatusOr<bool> published = pool.PublishCached(blocks_[b], name);
    if (!published.ok()) return published.status();
    names_.push_back(name);
  }
  return absl::OkStatus();
}

}  // namespace baton::engine
