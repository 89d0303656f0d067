// A paged KV-cache pool: one page-aligned, contiguous, zero-initialised region (PoolMemory) laid
// out exactly as `KvLayout` describes (layer-major slabs of K then V), plus block accounting with
// a prefix cache.
//
// Every block is in one of three states:
//   free       no references, no name;
//   referenced held by one or more sequences (reference counted), named or not;
//   evictable  no references but named: it still holds the KV of the prefix its name
//              (prefix_hash.h's chained hash) stands for, and can be acquired again by that name.
// A sequence names a full block (PublishCached) once its KV is complete; when the last reference
// goes (Free), a named block becomes evictable instead of free. Allocate takes free blocks first
// (lowest ids) and only then evicts the least recently released evictable blocks, so evictable
// blocks count as free for allocation (num_free). A referenced block is never evicted or handed
// out again, so a block being read or written by its holders keeps its contents.
//
// The pool journals every name it gains (stored) or loses (removed) so that load reports can send
// a snapshot and then deltas (CacheSnapshot, CacheEventsSince).
//
// The region's base pointer and size are stable for the pool's lifetime, so a transport may
// register it once (kvtransfer registers it with UCX) and write slabs straight into it.
//
// Threading: block accounting and the prefix cache (every non-slab method) are thread-safe
// (internal mutex). Slab
// memory is not synchronised: the caller guarantees a block is written by one party at a time and
// not read while being written (e.g. the forward pass on the scheduler thread, or a transport write
// that completes before the sequence is admitted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/kv_cache/kv_layout.h"
#include "engine/kv_cache/pool_memory.h"

namespace baton::engine {

class KvPool {
 public:
  // Maps a zeroed region of layout.PoolBytes(num_blocks) bytes. kInvalidArgument when the layout
  // has a non-positive dimension or num_blocks <= 0; kResourceExhausted when mmap fails.
  static absl::StatusOr<std::unique_ptr<KvPool>> Create(const KvLayout& layout, int32_t num_blocks);
  // The same on memory someone else allocated (e.g. a KV transport), which the pool owns from now
  // on and zero-fills (unless PoolMemory::zeroed()). Also kInvalidArgument when `memory` is null,
  // not page aligned or shorter than layout.PoolBytes(num_blocks).
  static absl::StatusOr<std::unique_ptr<KvPool>> Create(const KvLayout& layout, int32_t num_blocks,
                                                        PoolMemory memory);
  ~KvPool();
  KvPool(const KvPool&) = delete;
  KvPool& operator=(const KvPool&) = delete;

  const KvLayout& layout() const { return layout_; }
  int32_t num_blocks() const { return num_blocks_; }
  // Base of the region (page aligned) and its size; valid until the pool is destroyed.
  void* base() const { return memory_.base(); }
  size_t size_bytes() const { return layout_.PoolBytes(num_blocks_); }

  // Takes `count` blocks, all or nothing, each with one reference: free blocks first (lowest ids
  // first, so tests are deterministic), then evictable ones, least recently released first
  // (their names are dropped). kResourceExhausted when fewer than `count` are free or evictable;
  // kInvalidArgument when count < 0.
  absl::StatusOr<std::vector<int32_t>> Allocate(int32_t count);
  // Drops one reference of each block; a block left without references becomes evictable when
  // named, free otherwise. All or nothing: kInvalidArgument (and nothing changes) when an id is
  // out of range, not referenced, or repeated in `blocks`.
  absl::Status Free(std::span<const int32_t> blocks);
  // Blocks Allocate can take now: free plus evictable.
  int32_t num_free() const;
  // Blocks with at least one reference.
  int32_t num_allocated() const { return num_blocks_ - num_free(); }

  // --- Prefix cache -------------------------------------------------------------------------
  // Takes one more reference on the blocks named hashes[0], hashes[1], ... for the longest
  // leading run the cache holds (evictable ones leave the eviction order), and returns their ids
  // in order; empty when hashes[0] is not cached.
  std::vector<int32_t> AcquireCached(std::span<const uint64_t> hashes);
  // How many leading hashes the cache holds (no references taken).
  int32_t CountCached(std::span<const uint64_t> hashes) const;
  // Names referenced block `block` by `hash`: the caller guarantees the block holds the complete
  // KV of that prefix and that nobody writes it again. Returns true when the block now carries the
  // name; false when it already has one or another block holds `hash` (this block then stays
  // unnamed and is freed as usual). kInvalidArgument when `block` is out of range or not
  // referenced.
  absl::StatusOr<bool> PublishCached(int32_t block, uint64_t hash);
  // Named blocks (referenced or evictable).
  int32_t num_cached() const;
  // Named blocks without references.
  int32_t num_evictable() const;

  // Monotonic counters of the cache since creation.
  struct CacheStats {
    int64_t stored_blocks = 0;   // names given (PublishCached returned true)
    int64_t evicted_blocks = 0;  // names dropped to make room (Allocate)
    int64_t hit_blocks = 0;      // blocks handed out by AcquireCached
  };
  CacheStats cache_stats() const;

  // Every name the cache holds now, and the journal position it reflects.
  struct CacheSnapshot {
    uint64_t cursor = 0;
    std::vector<uint64_t> hashes;
  };
  CacheSnapshot Snapshot() const;
  // Net changes since journal position `cursor` (a snapshot's or a previous delta's): names gained
  // and names lost, disjoint (a name stored and removed again in between appears in neither).
  // nullopt when the journal no longer reaches back to `cursor` (take a new snapshot).
  struct CacheDelta {
    uint64_t cursor = 0;
    std::vector<uint64_t> stored;
    std::vector<uint64_t> removed;
  };
  std::optional<CacheDelta> EventsSince(uint64_t cursor) const;

  // The (layer, block) slab: K[kv_head][token][head_dim] then V[...]; LayerBlockBytes() long.
  // Precondition (CHECKed): 0 <= layer < num_layers, 0 <= block < num_blocks.
  uint8_t* Slab(int32_t layer, int32_t block) const;
  uint8_t* KeyData(int32_t layer, int32_t block) const { return Slab(layer, block); }
  uint8_t* ValueData(int32_t layer, int32_t block) const {
    return Slab(layer, block) + layout_.HalfSlabBytes();
  }

  // Copies one slab out / in as raw bytes. kInvalidArgument when layer or block is out of range or
  // the span is not exactly LayerBlockBytes() long.
  absl::Status ExportSlab(int32_t layer, int32_t block, std::span<uint8_t> out) const;
  absl::Status ImportSlab(int32_t layer, int32_t block, std::span<const uint8_t> in);

 private:
  KvPool(const KvLayout& layout, int32_t num_blocks, PoolMemory memory);
  absl::Status CheckSlab(int32_t layer, int32_t block, size_t bytes) const;

  const KvLayout layout_;
  const int32_t num_blocks_;
  const PoolMemory memory_;

  // Drops the name of evictable block `block` (journaled as removed) and makes it free.
  void EvictLocked(int32_t block) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void JournalLocked(uint64_t hash, bool stored) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<int32_t> references_ ABSL_GUARDED_BY(mu_);
  std::vector<std::optional<uint64_t>> names_ ABSL_GUARDED_BY(mu_);
  std::set<int32_t> free_ ABSL_GUARDED_BY(mu_);
  // Evictable blocks, least recently released first; positions_ finds a block in it.
  std::list<int32_t> evictable_ ABSL_GUARDED_BY(mu_);
  std::vector<std::list<int32_t>::iterator> positions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, int32_t> by_name_ ABSL_GUARDED_BY(mu_);
  CacheStats stats_ ABSL_GUARDED_BY(mu_);
  // Journal of (hash, stored?) events; journal_[0] is at position journal_start_.
  std::vector<std::pair<uint64_t, bool>> journal_ ABSL_GUARDED_BY(mu_);
  uint64_t journal_start_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace baton::engine
