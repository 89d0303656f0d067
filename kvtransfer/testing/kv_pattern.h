// Test and benchmark helpers: a page-aligned host KV pool, deterministic per-slab byte
// patterns to check that writes land intact in exactly the right (layer, block) slabs, and a
// one-line text form of KvTarget for handing targets between test processes over pipes.
// Not thread-safe; each pool is used by one thread at a time (or read after transfers end).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/kv_cache/kv_layout.h"
#include "engine/kv_cache/pool_memory.h"
#include "kvtransfer/kv_target.h"
#include "kvtransfer/kv_transport.h"

namespace baton::kvtransfer::testing {

// A zero-filled, page-aligned pool of `num_blocks` blocks.
class HostPool {
 public:
  // Zeroed memory from `memory_from`'s AllocatePoolMemory (which must outlive the pool), or an
  // anonymous mapping when null. CHECK-fails when the memory cannot be had.
  HostPool(const engine::KvLayout& layout, int32_t num_blocks, KvTransport* memory_from = nullptr);
  HostPool(const HostPool&) = delete;
  HostPool& operator=(const HostPool&) = delete;

  void* data() const { return memory_.base(); }
  size_t bytes() const { return bytes_; }
  int32_t num_blocks() const { return num_blocks_; }
  const engine::KvLayout& layout() const { return layout_; }
  char* Slab(int32_t layer, int32_t block) const {
    return static_cast<char*>(data()) + layout_.Offset(layer, block, num_blocks_);
  }

  // Fills every layer of `blocks` with Pattern(seed, layer, block).
  void FillPattern(const std::vector<int32_t>& blocks, uint64_t seed);
  // Whether slab (layer, block) holds the pattern that (seed, layer, source_block) produces.
  bool SlabHasPattern(int32_t layer, int32_t block, uint64_t seed, int32_t source_block) const;
  bool SlabIsZero(int32_t layer, int32_t block) const;

 private:
  engine::KvLayout layout_;
  int32_t num_blocks_;
  size_t bytes_;
  engine::PoolMemory memory_;
};

// The 1B-shape model's KV layout (16 layers, 8 KV heads, head_dim 64, F16, 16-token blocks):
// 32 KiB of KV per token, 32 KiB per (layer, block) slab.
engine::KvLayout OneBLayout();

// KvTarget <-> one line of text (hex for bytes), for test helpers and benchmarks only.
std::string TargetToLine(const KvTarget& target);
absl::StatusOr<KvTarget> TargetFromLine(absl::string_view line);

std::string HexEncode(absl::string_view bytes);
absl::StatusOr<std::string> HexDecode(absl::string_view hex);

}  // namespace baton::kvtransfer::testing
