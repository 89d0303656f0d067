// Per-type block quantizers and dequantizers behind QuantizeRow / DequantizeRow (quantize.h).
// Internal to engine/kernels/cpu. Each function converts nb whole blocks; pure, thread-safe.
#pragma once

#include <cstdint>

#include "engine/kernels/cpu/block_formats.h"

namespace baton::engine::kernels {

// 32-element block types (quantize_block32.cc).
void QuantizeQ4_0(const float* x, BlockQ4_0* b, int64_t nb);
void DequantizeQ4_0(const BlockQ4_0* b, float* y, int64_t nb);
void QuantizeQ4_1(const float* x, BlockQ4_1* b, int64_t nb);
void DequantizeQ4_1(const BlockQ4_1* b, float* y, int64_t nb);
void QuantizeQ5_0(const float* x, BlockQ5_0* b, int64_t nb);
void DequantizeQ5_0(const BlockQ5_0* b, float* y, int64_t nb);
void QuantizeQ5_1(const float* x, BlockQ5_1* b, int64_t nb);
void DequantizeQ5_1(const BlockQ5_1* b, float* y, int64_t nb);
void QuantizeQ8_0(const float* x, BlockQ8_0* b, int64_t nb);
void DequantizeQ8_0(const BlockQ8_0* b, float* y, int64_t nb);
void QuantizeIQ4_NL(const float* x, BlockIQ4_NL* b, int64_t nb);
void DequantizeIQ4_NL(const BlockIQ4_NL* b, float* y, int64_t nb);

// 256-element super-block types (quantize_k.cc).
void QuantizeQ2_K(const float* x, BlockQ2_K* b, int64_t nb);
void DequantizeQ2_K(const BlockQ2_K* b, float* y, int64_t nb);
void QuantizeQ3_K(const float* x, BlockQ3_K* b, int64_t nb);
void DequantizeQ3_K(const BlockQ3_K* b, float* y, int64_t nb);
void QuantizeQ4_K(const float* x, BlockQ4_K* b, int64_t nb);
void DequantizeQ4_K(const BlockQ4_K* b, float* y, int64_t nb);
void QuantizeQ5_K(const float* x, BlockQ5_K* b, int64_t nb);
void DequantizeQ5_K(const BlockQ5_K* b, float* y, int64_t nb);
void QuantizeQ6_K(const float* x, BlockQ6_K* b, int64_t nb);
void DequantizeQ6_K(const BlockQ6_K* b, float* y, int64_t nb);
void QuantizeIQ4_XS(const float* x, BlockIQ4_XS* b, int64_t nb);
void DequantizeIQ4_XS(const BlockIQ4_XS* b, float* y, int64_t nb);

// Helpers shared by both files.
// The element with the largest magnitude, keeping its sign (symmetric types map it to their
// most negative level so the full range is used).
float SignedAbsMax(const float* x, int n);
inline float Inverse(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }
inline int Clamp(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }
// Index of the kIq4NlValues entry nearest to v.
int NearestIq4Index(float v);

}  // namespace baton::engine::kernels
