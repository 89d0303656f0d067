// The memory layout of a paged KV pool, agreed in one place by the engine (which computes into
// it) and kvtransfer (which moves it between workers byte for byte).
//
// A pool of `num_blocks` blocks is one contiguous, page-aligned region. It is layer-major: the
// slab for (layer, block) holds that block's K then V for that layer, so one layer of one block
// is one contiguous run of LayerBlockBytes() bytes at Offset(layer, block, num_blocks):
//
//   pool = [layer 0: block 0 slab][layer 0: block 1 slab]...[layer 1: block 0 slab]...
//   slab = K[kv_head][token in block][head_dim] then V[kv_head][token in block][head_dim]
//
// Two pools whose layouts compare equal can exchange slabs as raw bytes. Header only; a plain
// value type, no threading concerns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace baton::engine {

enum class KvDType : uint8_t {
  kF32 = 0,
  kF16 = 1,
};

inline size_t KvDTypeBytes(KvDType dtype) { return dtype == KvDType::kF32 ? 4 : 2; }
inline const char* KvDTypeName(KvDType dtype) { return dtype == KvDType::kF32 ? "f32" : "f16"; }

struct KvLayout {
  int32_t num_layers = 0;
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;
  int32_t block_size_tokens = 16;
  KvDType dtype = KvDType::kF16;

  // Bytes of K (or of V) of one block in one layer.
  size_t HalfSlabBytes() const {
    return static_cast<size_t>(block_size_tokens) * num_kv_heads * head_dim * KvDTypeBytes(dtype);
  }
  // Bytes of one (layer, block) slab: K then V.
  size_t LayerBlockBytes() const { return 2 * HalfSlabBytes(); }
  // Bytes of KV per token over all layers.
  size_t BytesPerToken() const {
    return 2 * static_cast<size_t>(num_layers) * num_kv_heads * head_dim * KvDTypeBytes(dtype);
  }
  // Byte offset of the (layer, block) slab in a pool of `num_blocks` blocks.
  size_t Offset(int32_t layer, int32_t block, int32_t num_blocks) const {
    return (static_cast<size_t>(layer) * num_blocks + block) * LayerBlockBytes();
  }
  // Size of a whole pool of `num_blocks` blocks.
  size_t PoolBytes(int32_t num_blocks) const {
    return static_cast<size_t>(num_layers) * num_blocks * LayerBlockBytes();
  }
  // Number of blocks that hold `num_tokens` tokens.
  int32_t BlocksFor(int64_t num_tokens) const {
    return static_cast<int32_t>((num_tokens + block_size_tokens - 1) / block_size_tokens);
  }

  bool operator==(const KvLayout& other) const {
    return num_layers == other.num_layers && num_kv_heads == other.num_kv_heads &&
           head_dim == other.head_dim && block_size_tokens == other.block_size_tokens &&
           dtype == other.dtype;
  }
  bool operator!=(const KvLayout& other) const { return !(*this == other); }

  std::string DebugString() const {
    return "layers=" + std::to_string(num_layers) + " kv_heads=" + std::to_string(num_kv_heads) +
           " head_dim=" + std::to_string(head_dim) + " block=" + std::to_string(block_size_tokens) +
           " dtype=" + KvDTypeName(dtype);
  }
};

}  // namespace baton::engine
