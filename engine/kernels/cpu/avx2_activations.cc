// QuantizeActivationRows with AVX2 (row_kernels.h), bit for bit: the block maximum is exact in
// any order, x * (1 / d) is the same float product, and vcvtps2dq rounds as cvtss2si does (to
// nearest even, the default MXCSR mode). Quants stay within +-127, so packing with saturation
// keeps them; the sums are exact integers, whatever order they are added in.
#include <immintrin.h>

#include <cmath>

#include "engine/kernels/cpu/activations.h"
#include "engine/kernels/cpu/avx2_tile_helpers.h"
#include "engine/kernels/cpu/row_kernels.h"
#include "engine/tensor/fp16.h"

namespace baton::engine::kernels {
namespace {

BATON_AVX2_INLINE inline float MaxOfLanes(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 32 quants of x * id, in element order.
BATON_AVX2_INLINE inline __m256i Quantize32(const float* x, __m256 id) {
  __m256i q[4];
#pragma GCC unroll 4
  for (int v = 0; v < 4; ++v) q[v] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * v), id));
  // packs works within 128-bit halves: the 32-bit groups (4 elements each) come out as groups
  // 0 2 4 6 1 3 5 7 of the block; the permutation restores element order.
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]),
                                            _mm256_packs_epi32(q[2], q[3]));
  return _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

}  // namespace

BATON_AVX2 void QuantizeActivationRowsAvx2(const float* x, int64_t i0, int64_t i1,
                                           Q8Activations* out) {
  const int64_t k = out->k;
  const int block = out->block;
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  const __m256i neg_bias = _mm256_set1_epi32(-out->bias);
  for (int64_t i = i0 * (k / block); i < i1 * (k / block); ++i) {
    const float* xb = x + i * block;
    __m256 amax = _mm256_setzero_ps();
    // max(|x|, amax) keeps amax where x is NaN, as std::max(amax, |x|) does.
    for (int j = 0; j < block; j += 8) {
      amax = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(xb + j), abs_mask), amax);
    }
    const float max_abs = MaxOfLanes(amax);
    float d = max_abs / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    if (block == 32) {  // ggml's quantize_row_q8_0, as QuantizeActivationRows
      id = max_abs != 0.0f ? 127.0f / max_abs : 0.0f;
      if (std::isinf(id)) id = 0.0f;
      d = Fp16ToFloat(FloatToFp16(d));
    }
    // A subnormal maximum makes 1 / d infinite. The scalar quantizer then converts inf or NaN,
    // which cvtss2si turns into INT_MIN and the cast to int8 into 0; vcvtps2dq and packing
    // would give -128, so the quants are made 0 directly.
    if (std::isinf(id)) id = 0.0f;
    out->d[i] = d;
    const __m256 idv = _mm256_set1_ps(id);
    int8_t* q = out->qs.data() + i * block;
    for (int j = 0; j < block; j += 32) {
      const __m256i q32 = Quantize32(xb + j, idv);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + j), q32);
      // Sums of each 4 quants (lane g = elements 4g..4g+3), then of 16 and 32.
      const __m256i sum4 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q32), ones16);
      const int64_t g = (i * block + j) / 4;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out->corr.data() + g),
                          _mm256_mullo_epi32(sum4, neg_bias));
      __m128i s = _mm_hadd_epi32(_mm256_castsi256_si128(sum4), _mm256_extracti128_si256(sum4, 1));
      s = _mm_hadd_epi32(s, s);  // lanes 0, 1: the sums of elements 0-15 and 16-31
      const int32_t first = _mm_cvtsi128_si32(s), second = _mm_extract_epi32(s, 1);
      out->sum32[g / 8] = first + second;
      if (block == 256) {
        out->sum16[g / 4] = static_cast<int16_t>(first);
        out->sum16[g / 4 + 1] = static_cast<int16_t>(second);
      }
    }
  }
  if (block == 32) {
    for (int64_t j = i0 * (k / 32); j < i1 * (k / 32); ++j) {
      _mm256_storeu_ps(out->d8.data() + 8 * j, _mm256_set1_ps(out->d[j]));
      out->dsum32[j] = out->d[j] * out->sum32[j];
    }
  }
}

}  // namespace baton::engine::kernels
