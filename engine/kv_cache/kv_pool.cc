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
      allocated_(num_blocks, false),
      num_free_(num_blocks) {}

KvPool::~KvPool() = default;

absl::StatusOr<std::vector<int32_t>> KvPool::Allocate(int32_t count) {
  if (count < 0) return absl::InvalidArgumentError("negative block count");
  absl::MutexLock lock(&mu_);
  if (count > num_free_) {
    return absl::ResourceExhaustedError("KV pool has " + std::to_string(num_free_) +
                                        " free blocks, " + std::to_string(count) + " requested");
  }
  std::vector<int32_t> blocks;
  blocks.reserve(count);
  for (int32_t b = 0; b < num_blocks_ && static_cast<int32_t>(blocks.size()) < count; ++b) {
    if (!allocated_[b]) {
      allocated_[b] = true;
      blocks.push_back(b);
    }
  }
  num_free_ -= count;
  return blocks;
}

absl::Status KvPool::Free(std::span<const int32_t> blocks) {
  absl::MutexLock lock(&mu_);
  std::vector<bool> seen(num_blocks_, false);
  for (int32_t b : blocks) {
    if (b < 0 || b >= num_blocks_) {
      return absl::InvalidArgumentError("block id " + std::to_string(b) + " out of range");
    }
    if (!allocated_[b] || seen[b]) {
      return absl::InvalidArgumentError("block " + std::to_string(b) + " is not allocated");
    }
    seen[b] = true;
  }
  for (int32_t b : blocks) allocated_[b] = false;
  num_free_ += static_cast<int32_t>(blocks.size());
  return absl::OkStatus();
}

int32_t KvPool::num_free() const {
  absl::MutexLock lock(&mu_);
  return num_free_;
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
