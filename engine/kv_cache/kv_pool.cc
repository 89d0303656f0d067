#include "engine/kv_cache/kv_pool.h"

#include <unistd.h>

#include <cstring>
#include <string>

#include "common/logging.h"
#include "common/status_macros.h"

namespace baton::engine {

namespace {

absl::Status CheckGeometry(const KvLayout& layout, int32_t num_blocks) {
  if (layout.num_layers <= 0 || layout.num_kv_heads <= 0 || layout.head_dim <= 0 ||
      layout.block_size_tokens <= 0) {
    return absl::InvalidArgumentError("bad KV layout: " + layout.DebugString());
  }
  if (num_blocks <= 0) {
    return absl::InvalidArgumentError("KV pool needs at least one block, got " +
                                      std::to_string(num_blocks));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<KvPool>> KvPool::Create(const KvLayout& layout, int32_t num_blocks) {
  RETURN_IF_ERROR(CheckGeometry(layout, num_blocks));
  // Anonymous mmap: page aligned and zero filled, pages committed lazily on first touch.
  ASSIGN_OR_RETURN(PoolMemory memory, AnonymousPoolMemory(layout.PoolBytes(num_blocks)));
  return Create(layout, num_blocks, std::move(memory));
}

absl::StatusOr<std::unique_ptr<KvPool>> KvPool::Create(const KvLayout& layout, int32_t num_blocks,
                                                       PoolMemory memory) {
  RETURN_IF_ERROR(CheckGeometry(layout, num_blocks));
  const size_t bytes = layout.PoolBytes(num_blocks);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (memory.base() == nullptr || reinterpret_cast<uintptr_t>(memory.base()) % page != 0 ||
      memory.bytes() < bytes) {
    return absl::InvalidArgumentError("KV pool memory must be page aligned and hold " +
                                      std::to_string(bytes) + " bytes, got " +
                                      std::to_string(memory.bytes()));
  }
  if (!memory.zeroed()) std::memset(memory.base(), 0, bytes);
  return std::unique_ptr<KvPool>(new KvPool(layout, num_blocks, std::move(memory)));
}

KvPool::KvPool(const KvLayout& layout, int32_t num_blocks, PoolMemory memory)
    : layout_(layout),
      num_blocks_(num_blocks),
      memory_(std::move(memory)),
      references_(num_blocks, 0),
      names_(num_blocks),
      positions_(num_blocks) {
  for (int32_t b = 0; b < num_blocks; ++b) free_.insert(free_.end(), b);
}

KvPool::~KvPool() = default;

absl::StatusOr<std::vector<int32_t>> KvPool::Allocate(int32_t count) {
  if (count < 0) return absl::InvalidArgumentError("negative block count");
  absl::MutexLock lock(&mu_);
  const int32_t available = static_cast<int32_t>(free_.size() + evictable_.size());
  if (count > available) {
    return absl::ResourceExhaustedError("KV pool has " + std::to_string(available) +
                                        " free blocks, " + std::to_string(count) + " requested");
  }
  // Evict only what free blocks cannot cover, oldest release first.
  while (static_cast<int32_t>(free_.size()) < count) EvictLocked(evictable_.front());
  std::vector<int32_t> blocks;
  blocks.reserve(count);
  for (int32_t i = 0; i < count; ++i) {
    const int32_t b = *free_.begin();
    free_.erase(free_.begin());
    references_[b] = 1;
    blocks.push_back(b);
  }
  return blocks;
}

absl::Status KvPool::Free(std::span<const int32_t> blocks) {
  absl::MutexLock lock(&mu_);
  std::vector<bool> seen(num_blocks_, false);
  for (int32_t b : blocks) {
    if (b < 0 || b >= num_blocks_) {
      return absl::InvalidArgumentError("block id " + std::to_string(b) + " out of range");
    }
    if (references_[b] == 0 || seen[b]) {
      return absl::InvalidArgumentError("block " + std::to_string(b) + " is not allocated");
    }
    seen[b] = true;
  }
  for (int32_t b : blocks) {
    if (--references_[b] > 0) continue;
    if (names_[b].has_value()) {
      positions_[b] = evictable_.insert(evictable_.end(), b);
    } else {
      free_.insert(b);
    }
  }
  return absl::OkStatus();
}

int32_t KvPool::num_free() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int32_t>(free_.size() + evictable_.size());
}

std::vector<int32_t> KvPool::AcquireCached(std::span<const uint64_t> hashes) {
  absl::MutexLock lock(&mu_);
  std::vector<int32_t> blocks;
  for (uint64_t hash : hashes) {
    auto it = by_name_.find(hash);
    if (it == by_name_.end()) break;
    const int32_t b = it->second;
    if (references_[b]++ == 0) evictable_.erase(positions_[b]);
    blocks.push_back(b);
  }
  stats_.hit_blocks += static_cast<int64_t>(blocks.size());
  return blocks;
}

int32_t KvPool::CountCached(std::span<const uint64_t> hashes) const {
  absl::MutexLock lock(&mu_);
  int32_t n = 0;
  for (uint64_t hash : hashes) {
    if (!by_name_.contains(hash)) break;
    ++n;
  }
  return n;
}

absl::StatusOr<bool> KvPool::PublishCached(int32_t block, uint64_t hash) {
  absl::MutexLock lock(&mu_);
  if (block < 0 || block >= num_blocks_ || references_[block] == 0) {
    return absl::InvalidArgumentError("cannot name block " + std::to_string(block) +
                                      ": out of range or not allocated");
  }
  if (names_[block].has_value() || by_name_.contains(hash)) return false;
  names_[block] = hash;
  by_name_.emplace(hash, block);
  ++stats_.stored_blocks;
  JournalLocked(hash, /*stored=*/true);
  return true;
}

int32_t KvPool::num_cached() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int32_t>(by_name_.size());
}

int32_t KvPool::num_evictable() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int32_t>(evictable_.size());
}

KvPool::CacheStats KvPool::cache_stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

KvPool::CacheSnapshot KvPool::Snapshot() const {
  absl::MutexLock lock(&mu_);
  CacheSnapshot snapshot;
  snapshot.cursor = journal_start_ + journal_.size();
  snapshot.hashes.reserve(by_name_.size());
  for (const auto& [hash, block] : by_name_) snapshot.hashes.push_back(hash);
  return snapshot;
}

std::optional<KvPool::CacheDelta> KvPool::EventsSince(uint64_t cursor) const {
  absl::MutexLock lock(&mu_);
  const uint64_t end = journal_start_ + journal_.size();
  if (cursor < journal_start_ || cursor > end) return std::nullopt;
  // Net effect per name: present before the window iff its first event removes it, present
  // after iff its last event stores it.
  absl::flat_hash_map<uint64_t, std::pair<bool, bool>> first_last;  // (was present, is present)
  std::vector<uint64_t> order;
  for (uint64_t i = cursor - journal_start_; i < journal_.size(); ++i) {
    const auto& [hash, stored] = journal_[i];
    auto [it, inserted] = first_last.try_emplace(hash, !stored, stored);
    if (inserted) {
      order.push_back(hash);
    } else {
      it->second.second = stored;
    }
  }
  CacheDelta delta;
  delta.cursor = end;
  for (uint64_t hash : order) {
    const auto [before, after] = first_last.at(hash);
    if (!before && after) delta.stored.push_back(hash);
    if (before && !after) delta.removed.push_back(hash);
  }
  return delta;
}

void KvPool::EvictLocked(int32_t block) {
  evictable_.erase(positions_[block]);
  const uint64_t hash = *names_[block];
  by_name_.erase(hash);
  names_[block].reset();
  free_.insert(block);
  ++stats_.evicted_blocks;
  JournalLocked(hash, /*stored=*/false);
}

void KvPool::JournalLocked(uint64_t hash, bool stored) {
  // Bounded: a reader further behind than this takes a new snapshot.
  constexpr size_t kMaxJournal = 1 << 16;
  if (journal_.size() >= kMaxJournal) {
    const size_t drop = kMaxJournal / 2;
    journal_.erase(journal_.begin(), journal_.begin() + drop);
    journal_start_ += drop;
  }
  journal_.emplace_back(hash, stored);
}

uint8_t* KvPool::Slab(int32_t layer, int32_t block) const {
  CHECK(layer >= 0 && layer < layout_.num_layers && block >= 0 && block < num_blocks_)
      << "slab (" << layer << ", " << block << ") out of range";
  return static_cast<uint8_t*>(memory_.base()) + layout_.Offset(layer, block, num_blocks_);
}

absl::Status KvPool::CheckSlab(int32_t layer, int32_t block, size_t bytes) const {
  if (layer < 0 || layer >= layout_.num_layers || block < 0 || block >= num_blocks_) {
    return absl::InvalidArgumentError("slab (" + std::to_string(layer) + ", " +
                                      std::to_string(block) + ") out of range");
  }
  if (bytes != layout_.LayerBlockBytes()) {
    return absl::InvalidArgumentError("slab buffer is " + std::to_string(bytes) +
                                      " bytes, layout needs " +
                                      std::to_string(layout_.LayerBlockBytes()));
  }
  return absl::OkStatus();
}

absl::Status KvPool::ExportSlab(int32_t layer, int32_t block, std::span<uint8_t> out) const {
  if (absl::Status s = CheckSlab(layer, block, out.size()); !s.ok()) return s;
  std::memcpy(out.data(), Slab(layer, block), out.size());
  return absl::OkStatus();
}

absl::Status KvPool::ImportSlab(int32_t layer, int32_t block, std::span<const uint8_t> in) {
  if (absl::Status s = CheckSlab(layer, block, in.size()); !s.ok()) return s;
  std::memcpy(Slab(layer, block), in.data(), in.size());
  return absl::OkStatus();
}

}  // namespace baton::engine
