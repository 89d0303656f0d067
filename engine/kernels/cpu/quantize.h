// Row-wise conversion between float and every supported tensor type (engine/tensor/tensor_type.h),
// in ggml's block layouts. Scalar, portable, and the reference the SIMD kernels are tested against.
// Pure functions over caller-owned buffers: thread-safe.
#pragma once

#include <cstdint>

#include "engine/tensor/tensor_type.h"

namespace baton::engine::kernels {

// Encodes n floats from `src` into RowBytes(t, n) bytes at `dst`.
// Precondition: n % BlockElements(t) == 0 (CHECKed). Not bit-identical to ggml's quantizers for
// the K types (their scale search differs) but produces the same layout.
void QuantizeRow(TensorType t, const float* src, void* dst, int64_t n);

// Decodes RowBytes(t, n) bytes at `src` into n floats at `dst`. Same precondition.
void DequantizeRow(TensorType t, const void* src, float* dst, int64_t n);

}  // namespace baton::engine::kernels
