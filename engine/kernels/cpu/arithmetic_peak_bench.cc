// The machine's arithmetic ceilings, for judging how close the float GEMMs run to them
// (docs/BENCHMARKS.md, F16 prefill): fp32 FMAs in 256- and 512-bit vectors and, where the CPU
// has AVX-512 BF16, its pair dot products (vdpbf16ps), each over enough independent chains to
// hide the instruction's latency. items_per_second = multiply-adds per second (per thread count:
// the benchmark's threads each run their own chains).
//   bazel run -c opt //engine/kernels/cpu:arithmetic_peak_bench
#include <immintrin.h>

#include "benchmark/benchmark.h"

namespace baton::engine::kernels {
namespace {

constexpr int kChains = 12;      // >= latency (4-6 cycles) x issue rate (2 per cycle)
constexpr int kSteps = 1 << 12;  // instructions per chain per iteration
// Each benchmark checks the CPU outside its target-attributed body: GCC may schedule a body's
// instructions ahead of a branch inside it.

__attribute__((target("avx2,fma"))) void Fma256(benchmark::State& state) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(static_cast<float>(c));
  // acc * a + b converges to a fixed point: no denormals, no overflow.
  const __m256 a = _mm256_set1_ps(0.5f), b = _mm256_set1_ps(0.25f);
  for (auto _ : state) {
    for (int s = 0; s < kSteps; ++s) {
#pragma GCC unroll 12
      for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    }
  }
  for (int c = 0; c < kChains; ++c) benchmark::DoNotOptimize(acc[c]);
  state.SetItemsProcessed(state.iterations() * kSteps * kChains * 8);
}
void BM_Fma256(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    state.SkipWithError("this CPU lacks AVX2 and FMA");
    return;
  }
  Fma256(state);
}
BENCHMARK(BM_Fma256)->Threads(1)->Threads(2)->UseRealTime();

__attribute__((target("avx512f"))) void Fma512(benchmark::State& state) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c));
  const __m512 a = _mm512_set1_ps(0.5f), b = _mm512_set1_ps(0.25f);
  for (auto _ : state) {
    for (int s = 0; s < kSteps; ++s) {
#pragma GCC unroll 12
      for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    }
  }
  for (int c = 0; c < kChains; ++c) benchmark::DoNotOptimize(acc[c]);
  state.SetItemsProcessed(state.iterations() * kSteps * kChains * 16);
}
void BM_Fma512(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx512f")) {
    state.SkipWithError("this CPU lacks AVX-512 F");
    return;
  }
  Fma512(state);
}
BENCHMARK(BM_Fma512)->Threads(1)->Threads(2)->UseRealTime();

// 32 bf16 products per instruction (16 lanes x a pair each).
__attribute__((target("avx512f,avx512bf16"))) void Bf16Dot512(benchmark::State& state) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_setzero_ps();
  // Products of 2^-20 keep every chain finite for far more steps than a run takes.
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3580);  // bf16 2^-20
  for (auto _ : state) {
    for (int s = 0; s < kSteps; ++s) {
#pragma GCC unroll 12
      for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, a);
    }
  }
  for (int c = 0; c < kChains; ++c) benchmark::DoNotOptimize(acc[c]);
  state.SetItemsProcessed(state.iterations() * kSteps * kChains * 32);
}
void BM_Bf16Dot512(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bf16")) {
    state.SkipWithError("this CPU lacks AVX-512 BF16");
    return;
  }
  Bf16Dot512(state);
}
BENCHMARK(BM_Bf16Dot512)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace baton::engine::kernels

BENCHMARK_MAIN();
