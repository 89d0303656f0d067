#include "engine/tensor/tensor_type.h"

#include <cstdlib>

namespace baton::engine {
namespace {

// Block sizes follow ggml's block structs (engine/kernels/cpu/block_formats.h spells out each
// layout): 16-bit scales (and mins), packed sub-block scales, then the packed quants.
constexpr TensorTypeTraits kTraits[] = {
    {TensorType::kF32, "f32", 1, 4},
    {TensorType::kF16, "f16", 1, 2},
    {TensorType::kQ4_0, "q4_0", 32, 2 + 16},
    {TensorType::kQ4_1, "q4_1", 32, 2 + 2 + 16},
    {TensorType::kQ5_0, "q5_0", 32, 2 + 4 + 16},
    {TensorType::kQ5_1, "q5_1", 32, 2 + 2 + 4 + 16},
    {TensorType::kQ8_0, "q8_0", 32, 2 + 32},
    {TensorType::kQ2_K, "q2_K", 256, 16 + 64 + 2 + 2},
    {TensorType::kQ3_K, "q3_K", 256, 32 + 64 + 12 + 2},
    {TensorType::kQ4_K, "q4_K", 256, 2 + 2 + 12 + 128},
    {TensorType::kQ5_K, "q5_K", 256, 2 + 2 + 12 + 32 + 128},
    {TensorType::kQ6_K, "q6_K", 256, 128 + 64 + 16 + 2},
    {TensorType::kIQ4_NL, "iq4_nl", 32, 2 + 16},
    {TensorType::kIQ4_XS, "iq4_xs", 256, 2 + 2 + 4 + 128},
    {TensorType::kBF16, "bf16", 1, 2},
};

}  // namespace

std::optional<TensorTypeTraits> FindTensorTypeTraits(uint32_t type_id) {
  for (const TensorTypeTraits& t : kTraits) {
    if (static_cast<uint32_t>(t.type) == type_id) return t;
  }
  return std::nullopt;
}

const TensorTypeTraits& Traits(TensorType type) {
  for (const TensorTypeTraits& t : kTraits) {
    if (t.type == type) return t;
  }
  std::abort();  // Not an enumerator: a bug in the caller (file input goes through Find...).
}

}  // namespace baton::engine
