// AVX-512 row kernels. Every function here carries a target attribute, so the file compiles
// without global -m flags; callers reach them only after the runtime CPU check.
#include <immintrin.h>

#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/row_kernels.h"

#define BATON_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512bf16,avx512dq,f16c,fma,avx2")))

namespace baton::engine::kernels {
namespace {

BATON_AVX512 inline float Reduce(__m512 v) { return _mm512_reduce_add_ps(v); }

}  // namespace

bool CpuHasAvx512Kernels() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512vnni") &&
                          __builtin_cpu_supports("avx512bf16") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("f16c") &&
                          __builtin_cpu_supports("fma");
  return has;
}

BATON_AVX512 float DotF32Avx512(const float* a, const float* b, int64_t k) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 32 <= k; j += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(b + j + 16), acc1);
  }
  for (; j < k; j += 16) {
    const __mmask16 mask = k - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (k - j)) - 1);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + j), _mm512_maskz_loadu_ps(mask, b + j),
                           acc0);
  }
  return Reduce(_mm512_add_ps(acc0, acc1));
}

KernelChoice Avx512Kernel(TensorType t) {
  if (!CpuHasAvx512Kernels()) return {};
  switch (t) {
    default:
      return {};
  }
}

}  // namespace baton::engine::kernels
