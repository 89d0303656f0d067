// AVX2 row kernels, for x86-64 CPUs without the AVX-512 set of matmul_avx512.cc. Every function
// here carries a target attribute, so the file compiles without global -m flags; callers reach
// them only after CpuHasAvx2Kernels().
#include <immintrin.h>

#include "engine/kernels/cpu/row_kernels.h"

#define BATON_AVX2 __attribute__((target("avx2,fma")))

namespace baton::engine::kernels {

bool CpuHasAvx2Kernels() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

// ggml's 64 lanes as eight 8-lane vectors: acc[2j] and acc[2j + 1] are the low and high halves
// of its 16-lane vector j, so every lane runs the same fma chain as in DotF32Scalar and the
// reduction groups the partial sums the same way.
BATON_AVX2 float DotF32Avx2(const float* a, const float* b, int64_t k) {
  const int64_t np = k & ~(kGgmlF32Lanes - 1);
  __m256 acc[8];
#pragma GCC unroll 8
  for (int v = 0; v < 8; ++v) acc[v] = _mm256_setzero_ps();
  for (int64_t i = 0; i < np; i += kGgmlF32Lanes) {
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v) {
      acc[v] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8 * v), _mm256_loadu_ps(b + i + 8 * v),
                               acc[v]);
    }
  }
  // (v0 + v2) + (v1 + v3), on the low and the high halves.
  const __m256 lo = _mm256_add_ps(_mm256_add_ps(acc[0], acc[4]), _mm256_add_ps(acc[2], acc[6]));
  const __m256 hi = _mm256_add_ps(_mm256_add_ps(acc[1], acc[5]), _mm256_add_ps(acc[3], acc[7]));
  const __m256 h8 = _mm256_add_ps(lo, hi);
  const __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
  const __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));  // lanes 0 + 2, 1 + 3
  const float s = _mm_cvtss_f32(_mm_add_ss(h2, _mm_movehdup_ps(h2)));
  return AddDotF32Leftovers(a, b, np, k, s);
}

}  // namespace baton::engine::kernels
