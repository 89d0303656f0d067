// AVX2 row kernels for the float types, and the AVX2 tier's kernel table. Every function here
// carries a target attribute, so the file compiles without global -m flags; callers reach them
// only after CpuHasAvx2Kernels().
#include <immintrin.h>

#include "engine/kernels/cpu/avx2_tile_helpers.h"
#include "engine/kernels/cpu/row_kernels.h"
#include "engine/tensor/fp16.h"

namespace baton::engine::kernels {
namespace {

// Eight consecutive weights of a row as floats, and one for the scalar leftovers.
struct F32Load {
  static constexpr int64_t kBytes = 4;
  BATON_AVX2_INLINE static __m256 Eight(const void* w, int64_t i) {
    return _mm256_loadu_ps(static_cast<const float*>(w) + i);
  }
  static float One(const void* w, int64_t i) { return static_cast<const float*>(w)[i]; }
};
struct F16Load {
  static constexpr int64_t kBytes = 2;
  BATON_AVX2_INLINE static __m256 Eight(const void* w, int64_t i) {
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + i)));
  }
  static float One(const void* w, int64_t i) {
    return Fp16ToFloat(static_cast<const uint16_t*>(w)[i]);
  }
};
struct Bf16Load {
  static constexpr int64_t kBytes = 2;
  BATON_AVX2_INLINE static __m256 Eight(const void* w, int64_t i) {
    const __m128i h =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float One(const void* w, int64_t i) {
    return Bf16ToFloat(static_cast<const uint16_t*>(w)[i]);
  }
};

// ggml's 64 lanes as eight 8-lane vectors: acc[2j] and acc[2j + 1] are the low and high halves
// of its 16-lane vector j, so every lane runs the same fma chain as in DotF32Scalar and the
// reduction groups the partial sums the same way. Weights of any float type are converted
// exactly, so f16/bf16 rows give the same bits as DotF32Scalar over their dequantized rows.
template <typename L>
BATON_AVX2 float DotAvx2(const void* w, const float* x, int64_t k) {
  const int64_t np = k & ~(kGgmlF32Lanes - 1);
  __m256 acc[8];
#pragma GCC unroll 8
  for (int v = 0; v < 8; ++v) acc[v] = _mm256_setzero_ps();
  for (int64_t i = 0; i < np; i += kGgmlF32Lanes) {
    _mm_prefetch(static_cast<const char*>(w) + (i + 1024) * L::kBytes, _MM_HINT_T0);
    _mm_prefetch(static_cast<const char*>(w) + (i + 1024) * L::kBytes + 64, _MM_HINT_T0);
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v) {
      acc[v] = _mm256_fmadd_ps(L::Eight(w, i + 8 * v), _mm256_loadu_ps(x + i + 8 * v), acc[v]);
    }
  }
  // (v0 + v2) + (v1 + v3), on the low and the high halves.
  const __m256 lo = _mm256_add_ps(_mm256_add_ps(acc[0], acc[4]), _mm256_add_ps(acc[2], acc[6]));
  const __m256 hi = _mm256_add_ps(_mm256_add_ps(acc[1], acc[5]), _mm256_add_ps(acc[3], acc[7]));
  const __m256 h8 = _mm256_add_ps(lo, hi);
  const __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
  const __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));  // lanes 0 + 2, 1 + 3
  const float s = _mm_cvtss_f32(_mm_add_ss(h2, _mm_movehdup_ps(h2)));
  float tail[kGgmlF32Lanes];
  for (int64_t i = np; i < k; ++i) tail[i - np] = L::One(w, i);
  return AddDotF32Leftovers(tail, x + np, 0, k - np, s);
}

template <typename L>
BATON_AVX2 void FloatKernel(const uint8_t* w_row, const RowArgs& a, float* out,
                            int64_t out_stride) {
  for (int64_t i = a.i0; i < a.i0 + a.m; ++i) {
    out[i * out_stride] = DotAvx2<L>(w_row, a.x + i * a.k, a.k);
  }
}

}  // namespace

bool CpuHasAvx2Kernels() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                          __builtin_cpu_supports("f16c");
  return has;
}

BATON_AVX2 float DotF32Avx2(const float* a, const float* b, int64_t k) {
  return DotAvx2<F32Load>(a, b, k);
}

KernelChoice Avx2Kernel(TensorType t) {
  if (!CpuHasAvx2Kernels()) return {};
  switch (t) {
    case TensorType::kF32:
      return {FloatKernel<F32Load>, ActivationForm::kFloat, 0, "avx2-f32"};
    case TensorType::kF16:
      return {FloatKernel<F16Load>, ActivationForm::kFloat, 0, "avx2-f16c"};
    case TensorType::kBF16:
      return {FloatKernel<Bf16Load>, ActivationForm::kFloat, 0, "avx2-bf16"};
    default:
      return Avx2QuantKernel(t);
  }
}

}  // namespace baton::engine::kernels
