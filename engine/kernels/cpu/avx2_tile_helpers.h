// Small AVX2 helpers shared by the row kernels (avx2_quant_kernels.cc), the tiled kernels
// (quant_tiled_kernels.cc), the F16/BF16 GEMM and the kernels over weights repacked at load
// (packed_q4_0_kernel.cc). Internal to engine/kernels/cpu; include only
// from files whose callers check CpuHasAvx2Kernels() first.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/cpu/activations.h"
#include "engine/kernels/cpu/tiled_kernels.h"

#define BATON_AVX2 __attribute__((target("avx2,fma,f16c")))
#define BATON_AVX2_INLINE __attribute__((always_inline, target("avx2,fma,f16c")))

namespace baton::engine::kernels::avx2 {

// An empty asm that claims to modify v: GCC otherwise reassociates a chain of integer adds into
// a tree over all the products, whose many live values spill the accumulators to the stack.
BATON_AVX2_INLINE inline void KeepInRegister(__m256i& v) { asm("" : "+x"(v)); }

// Four activation quants as one 32-bit lane, repeated in all 8 lanes.
BATON_AVX2_INLINE inline __m256i BroadcastQuad(const int8_t* q) {
  int32_t v;
  std::memcpy(&v, q, sizeof(v));
  return _mm256_set1_epi32(v);
}

// Writes the `rows` first lanes of v to out (rows <= 8).
BATON_AVX2_INLINE inline void StoreRows(__m256 v, int rows, float* out) {
  if (rows == kPanelRows) {
    _mm256_storeu_ps(out, v);
    return;
  }
  alignas(32) float lanes[kPanelRows];
  _mm256_store_ps(lanes, v);
  std::memcpy(out, lanes, rows * sizeof(float));
}

// Activation rows i0 .. i0 + NR - 1 of a quantization (activations.h): quants, block scales
// and sums of 32 quants.
template <int NR>
struct ActivationRows {
  const int8_t* qs[NR];
  const float* d[NR];
  const int32_t* sum32[NR];
  ActivationRows(const Q8Activations& q8, int64_t i0) {
    for (int r = 0; r < NR; ++r) {
      qs[r] = q8.row_qs(i0 + r);
      d[r] = q8.row_d(i0 + r);
      sum32[r] = q8.row_sum32(i0 + r);
    }
  }
};

// Q4_0's exact integer sums for one block of 8 weight rows (one per lane) and one activation
// row: the integer dot of the unsigned nibbles (s16: in pairs of int16 lanes) minus 8 * the
// activation quants' sum. The sum is broadcast straight from memory and scaled in the vector
// unit (a scalar 8 * x_sum would cost a shift and a move from a general register per block and
// activation row).
BATON_AVX2_INLINE inline __m256i Q4_0OffsetSums(__m256i s16, const int32_t* x_sum) {
  __m256i sum = _mm256_broadcastd_epi32(_mm_cvtsi32_si128(*x_sum));
  KeepInRegister(sum);
  return _mm256_sub_epi32(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)),
                          _mm256_slli_epi32(sum, 3));
}

// Q4_0's float step for a block's integer sums s32 (Q4_0OffsetSums):
// acc + float(s32) * (d_w * d_x). Every Q4_0 kernel ends a block with it, so they all round alike.
BATON_AVX2_INLINE inline __m256 Q4_0FloatStep(__m256i s32, __m256 dw, float dx, __m256 acc) {
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_mul_ps(dw, _mm256_set1_ps(dx)), acc);
}

// Both steps for a block whose products s16 holds in pairs of int16 lanes.
BATON_AVX2_INLINE inline __m256 Q4_0BlockStep(__m256i s16, const int32_t* x_sum, __m256 dw,
                                              float dx, __m256 acc) {
  return Q4_0FloatStep(Q4_0OffsetSums(s16, x_sum), dw, dx, acc);
}

}  // namespace baton::engine::kernels::avx2
