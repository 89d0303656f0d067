// Element types of weight tensors, numbered as in GGUF files (the ggml type ids), and their
// block geometry. A row of n elements of a quantized type is n / block_elements blocks stored
// back to back; RowBytes() gives its size. Plain data and pure functions: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace baton::engine {

enum class TensorType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kIQ4_NL = 20,
  kIQ4_XS = 23,
  kBF16 = 30,
};

struct TensorTypeTraits {
  TensorType type;
  std::string_view name;   // as ggml spells it: "f32", "q4_0", "q6_K", "iq4_xs", ...
  int64_t block_elements;  // elements per block (1 for f32/f16/bf16)
  int64_t block_bytes;     // bytes per block
};

// Traits of `type`, or nullopt when the id is not one this engine supports.
std::optional<TensorTypeTraits> FindTensorTypeTraits(uint32_t type_id);

// Traits of a supported type. `type` must be one of the enumerators above.
const TensorTypeTraits& Traits(TensorType type);

inline std::string_view TensorTypeName(TensorType type) { return Traits(type).name; }
inline int64_t BlockElements(TensorType type) { return Traits(type).block_elements; }

// Bytes of a row of `n` elements. Precondition: n >= 0 and n % BlockElements(type) == 0.
inline size_t RowBytes(TensorType type, int64_t n) {
  const TensorTypeTraits& t = Traits(type);
  return static_cast<size_t>(n / t.block_elements) * static_cast<size_t>(t.block_bytes);
}

// Every supported type, in id order (for tests and tools).
inline constexpr TensorType kAllTensorTypes[] = {
    TensorType::kF32,  TensorType::kF16,  TensorType::kQ4_0,   TensorType::kQ4_1,
    TensorType::kQ5_0, TensorType::kQ5_1, TensorType::kQ8_0,   TensorType::kQ2_K,
    TensorType::kQ3_K, TensorType::kQ4_K, TensorType::kQ5_K,   TensorType::kQ6_K,
    TensorType::kIQ4_NL, TensorType::kIQ4_XS, TensorType::kBF16,
};

}  // namespace baton::engine
