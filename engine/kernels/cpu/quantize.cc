#include "engine/kernels/cpu/quantize.h"

#include <cstring>

#include "common/logging.h"
#include "engine/kernels/cpu/quantize_blocks.h"
#include "engine/tensor/fp16.h"

namespace baton::engine::kernels {
namespace {

// Blocks in a row of n elements; a partial block is a caller bug.
int64_t WholeBlocks(TensorType t, int64_t n) {
  const int64_t be = BlockElements(t);
  CHECK(n >= 0 && n % be == 0) << "row of " << n << " is not whole " << TensorTypeName(t)
                               << " blocks";
  return n / be;
}

template <typename Block>
Block* As(void* p) {
  return static_cast<Block*>(p);
}
template <typename Block>
const Block* As(const void* p) {
  return static_cast<const Block*>(p);
}

}  // namespace

void QuantizeRow(TensorType t, const float* src, void* dst, int64_t n) {
  const int64_t nb = WholeBlocks(t, n);
  switch (t) {
    case TensorType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case TensorType::kF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = FloatToFp16(src[i]);
      return;
    case TensorType::kBF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = FloatToBf16(src[i]);
      return;
    case TensorType::kQ4_0: return QuantizeQ4_0(src, As<BlockQ4_0>(dst), nb);
    case TensorType::kQ4_1: return QuantizeQ4_1(src, As<BlockQ4_1>(dst), nb);
    case TensorType::kQ5_0: return QuantizeQ5_0(src, As<BlockQ5_0>(dst), nb);
    case TensorType::kQ5_1: return QuantizeQ5_1(src, As<BlockQ5_1>(dst), nb);
    case TensorType::kQ8_0: return QuantizeQ8_0(src, As<BlockQ8_0>(dst), nb);
    case TensorType::kQ2_K: return QuantizeQ2_K(src, As<BlockQ2_K>(dst), nb);
    case TensorType::kQ3_K: return QuantizeQ3_K(src, As<BlockQ3_K>(dst), nb);
    case TensorType::kQ4_K: return QuantizeQ4_K(src, As<BlockQ4_K>(dst), nb);
    case TensorType::kQ5_K: return QuantizeQ5_K(src, As<BlockQ5_K>(dst), nb);
    case TensorType::kQ6_K: return QuantizeQ6_K(src, As<BlockQ6_K>(dst), nb);
    case TensorType::kIQ4_NL: return QuantizeIQ4_NL(src, As<BlockIQ4_NL>(dst), nb);
    case TensorType::kIQ4_XS: return QuantizeIQ4_XS(src, As<BlockIQ4_XS>(dst), nb);
  }
}

void DequantizeRow(TensorType t, const void* src, float* dst, int64_t n) {
  const int64_t nb = WholeBlocks(t, n);
  switch (t) {
    case TensorType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case TensorType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = Fp16ToFloat(static_cast<const uint16_t*>(src)[i]);
      return;
    case TensorType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToFloat(static_cast<const uint16_t*>(src)[i]);
      return;
    case TensorType::kQ4_0: return DequantizeQ4_0(As<BlockQ4_0>(src), dst, nb);
    case TensorType::kQ4_1: return DequantizeQ4_1(As<BlockQ4_1>(src), dst, nb);
    case TensorType::kQ5_0: return DequantizeQ5_0(As<BlockQ5_0>(src), dst, nb);
    case TensorType::kQ5_1: return DequantizeQ5_1(As<BlockQ5_1>(src), dst, nb);
    case TensorType::kQ8_0: return DequantizeQ8_0(As<BlockQ8_0>(src), dst, nb);
    case TensorType::kQ2_K: return DequantizeQ2_K(As<BlockQ2_K>(src), dst, nb);
    case TensorType::kQ3_K: return DequantizeQ3_K(As<BlockQ3_K>(src), dst, nb);
    case TensorType::kQ4_K: return DequantizeQ4_K(As<BlockQ4_K>(src), dst, nb);
    case TensorType::kQ5_K: return DequantizeQ5_K(As<BlockQ5_K>(src), dst, nb);
    case TensorType::kQ6_K: return DequantizeQ6_K(As<BlockQ6_K>(src), dst, nb);
    case TensorType::kIQ4_NL: return DequantizeIQ4_NL(As<BlockIQ4_NL>(src), dst, nb);
    case TensorType::kIQ4_XS: return DequantizeIQ4_XS(As<BlockIQ4_XS>(src), dst, nb);
  }
}

}  // namespace baton::engine::kernels
