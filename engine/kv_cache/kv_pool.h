// A paged KV-cache pool: one page-aligned, contiguous, zero-initialised region (PoolMemory) laid
// out exactly as `KvLayout` describes (layer-major slabs of K then V), plus block allocation
// accounting.
//
// The region's base pointer and size are stable for the pool's lifetime, so a transport may
// register it once (kvtransfer registers it with UCX) and write slabs straight into it.
//
// Threading: allocation accounting (Allocate, Free, num_free) is thread-safe (internal mutex). Slab
// memory is not synchronised: the caller guarantees a block is written by one party at a time and
// not read while being written (e.g. the forward pass on the scheduler thread, or a transport write
// that completes before the sequence is admitted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/base/thread_annotations.h"
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

  // Takes `count` free blocks, all or nothing (lowest ids first, so tests are deterministic).
  // kResourceExhausted when fewer than `count` are free; kInvalidArgument when count < 0.
  absl::StatusOr<std::vector<int32_t>> Allocate(int32_t count);
  // Returns blocks to the pool. All or nothing: kInvalidArgument (and nothing freed) when an id is
  // out of range, not currently allocated, or repeated in `blocks`.
  absl::Status Free(std::span<const int32_t> blocks);
  int32_t num_free() const;
  int32_t num_allocated() const { return num_blocks_ - num_free(); }

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

  mutable absl::Mutex mu_;
  std::vector<bool> allocated_ ABSL_GUARDED_BY(mu_);
  int32_t num_free_ ABSL_GUARDED_BY(mu_);
};

}  // namespace baton::engine
