// One sequence's block table: the ids of its KV blocks in position order and how many token
// positions are filled. Grows by allocating from a KvPool and gives its blocks back on Release.
// With prefix caching it may start from blocks the pool has cached for the sequence's leading
// tokens (AdoptCachedPrefix) and names its own full blocks once their KV is complete
// (PublishFullBlocks), so that they outlive the sequence in the pool's cache.
//
// Threading: a BlockTable belongs to one sequence and is used by one thread at a time (the pool
// it allocates from is thread-safe).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "engine/kv_cache/kv_pool.h"

namespace baton::engine {

class BlockTable {
 public:
  BlockTable() = default;
  // Adopts blocks allocated elsewhere (e.g. reserved for an incoming KV transfer) that hold
  // `num_tokens` positions.
  BlockTable(std::vector<int32_t> blocks, int32_t num_tokens)
      : blocks_(std::move(blocks)), num_tokens_(num_tokens) {}

  // Makes the table cover at least `num_tokens` positions, allocating the missing blocks from
  // `pool` (all or nothing). kResourceExhausted when the pool is short of blocks.
  absl::Status Reserve(KvPool& pool, int64_t num_tokens);
  // Frees every block to `pool` (named ones stay cached, evictable) and empties the table.
  absl::Status Release(KvPool& pool);

  // On an empty table: takes (one reference each) the longest run of leading full blocks of
  // `tokens` that `pool` has cached under the chain starting at `seed`
  // (kv_cache::PrefixHashSeed of the model), at most `max_blocks`. Their KV is complete, so
  // num_tokens() becomes the positions they hold. Returns the number of blocks taken.
  int32_t AdoptCachedPrefix(KvPool& pool, uint64_t seed, std::span<const int32_t> tokens,
                            int32_t max_blocks);
  // Names every full block whose positions are all below num_tokens() and which has no name yet
  // (KvPool::PublishCached), `tokens` being what the KV was computed from (at least num_tokens()
  // of them). Precondition: no write into those blocks may still land.
  absl::Status PublishFullBlocks(KvPool& pool, uint64_t seed, std::span<const int32_t> tokens);

  std::span<const int32_t> blocks() const { return blocks_; }
  // Positions whose K/V are in the pool; the next token goes at this position.
  int32_t num_tokens() const { return num_tokens_; }
  // Records that `n` more positions were written (after a successful forward step).
  void Advance(int32_t n) { num_tokens_ += n; }
  // Records that positions [0, n) are written (KV that arrived from elsewhere).
  void SetNumTokens(int32_t n) { num_tokens_ = n; }

 private:
  std::vector<int32_t> blocks_;
  int32_t num_tokens_ = 0;
  // Names of blocks_[0, names_.size()), computed as they fill (adopted or published).
  std::vector<uint64_t> names_;
};

}  // namespace baton::engine
