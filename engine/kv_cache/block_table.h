// One sequence's block table: the ids of its KV blocks in position order and how many token
// positions are filled. Grows by allocating from a KvPool and gives its blocks back on Release.
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
  // Frees every block to `pool` and empties the table.
  absl::Status Release(KvPool& pool);

  std::span<const int32_t> blocks() const { return blocks_; }
  // Positions whose K/V are in the pool; the next token goes at this position.
  int32_t num_tokens() const { return num_tokens_; }
  // Records that `n` more positions were written (after a successful forward step).
  void Advance(int32_t n) { num_tokens_ += n; }

 private:
  std::vector<int32_t> blocks_;
  int32_t num_tokens_ = 0;
};

}  // namespace baton::engine
