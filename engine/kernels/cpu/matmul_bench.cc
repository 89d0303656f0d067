// Matrix-vector throughput at the Llama-3.2-1B projection shapes, per weight type.
// Reports bytes of weights read per second ("bytes_per_second" = GB/s of W) at batch 1. The
// L2-resident shape runs on every kernel family (KernelVariant) the CPU supports.
#include <cstring>
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/kernels/cpu/matmul.h"
#include "engine/kernels/cpu/packed_weights.h"
#include "engine/threading/thread_pool.h"

namespace baton::engine::kernels {
namespace {

ThreadPool* Pool(int threads) {
  static std::unique_ptr<ThreadPool> pools[3];
  if (!pools[threads]) pools[threads] = *ThreadPool::Create(threads);
  return pools[threads].get();
}

// args: type id, n_rows, k, m, threads, highest kernel family allowed.
void BM_MatMul(benchmark::State& state) {
  const auto t = static_cast<TensorType>(state.range(0));
  const int64_t n_rows = state.range(1), k = state.range(2), m = state.range(3);
  const int threads = static_cast<int>(state.range(4));
  const auto family = static_cast<KernelVariant>(state.range(5));
  if (!CpuSupportsKernelVariant(family)) {
    state.SkipWithError("this CPU lacks the kernel family's features");
    return;
  }
  SetMaxKernelVariant(family);
  const size_t bytes = RowBytes(t, k) * n_rows;
  // Speed does not depend on the values; 0x11 bytes are small normal f32/f16/bf16 numbers and
  // sane block scales.
  std::vector<uint8_t> w(bytes, 0x11);
  std::vector<float> x(m * k, 0.5f), y(m * n_rows);
  for (auto _ : state) {
    MatMul(t, w.data(), n_rows, k, x.data(), m, y.data(), Pool(threads));
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n_rows * k * m);
  state.SetLabel(std::string(TensorTypeName(t)) + " " + MatMulKernelName(t));
  SetMaxKernelVariant(KernelVariant::kAvx512Vnni);
}

// The best family this CPU has (the others would only report that they are missing).
KernelVariant BestKernelVariant() {
  KernelVariant best = KernelVariant::kScalar;
  for (KernelVariant v : kAllKernelVariants) {
    if (CpuSupportsKernelVariant(v)) best = v;
  }
  return best;
}

// The best family and, where that is AVX-512, AVX2 as well.
std::vector<int64_t> Families() {
  const int64_t best = static_cast<int64_t>(BestKernelVariant());
  const int64_t avx2 = static_cast<int64_t>(KernelVariant::kAvx2);
  if (best == avx2) return {best};
  return {best, avx2};
}

void Shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"type", "rows", "k", "m", "threads", "family"});
  const int64_t best = static_cast<int64_t>(BestKernelVariant());
  for (TensorType t : kAllTensorTypes) {
    for (int64_t rows : {2048, 8192, 128256}) {
      if (t == TensorType::kF32 && rows == 128256) continue;  // 1 GB of weights
      for (int threads : {1, 2}) b->Args({static_cast<int64_t>(t), rows, 2048, 1, threads, best});
    }
  }
  // L2-resident weights (256 rows): the kernels' compute throughput without DRAM limits.
  for (TensorType t : kAllTensorTypes) {
    for (KernelVariant v : kAllKernelVariants) {
      b->Args({static_cast<int64_t>(t), 256, 2048, 1, 1, static_cast<int64_t>(v)});
    }
  }
  // Batched decode (16 sequences) at the FFN shape, and prefill (512 rows, tiled kernels) at
  // the attention shape: "items_per_second" there is multiply-adds per second. On the best
  // family and, where that is AVX-512, on AVX2 as well.
  const std::vector<int64_t> families = Families();
  for (TensorType t : {TensorType::kQ4_0, TensorType::kQ8_0, TensorType::kQ4_K,
                       TensorType::kQ6_K, TensorType::kF16}) {
    for (int64_t family : families) {
      b->Args({static_cast<int64_t>(t), 8192, 2048, 16, 2, family});
      for (int threads : {1, 2}) {
        b->Args({static_cast<int64_t>(t), 2048, 2048, 512, threads, family});
      }
    }
  }
  // Prefill at the FFN shapes (gate/up: 8192 x 2048, down: 2048 x 8192) for the float weights,
  // whose tiled kernel is a compute-bound fp32 GEMM.
  for (TensorType t : {TensorType::kF16, TensorType::kBF16}) {
    for (int64_t family : families) {
      if (t == TensorType::kBF16) b->Args({static_cast<int64_t>(t), 2048, 2048, 512, 2, family});
      b->Args({static_cast<int64_t>(t), 8192, 2048, 512, 2, family});
      b->Args({static_cast<int64_t>(t), 2048, 8192, 512, 2, family});
    }
  }
}

BENCHMARK(BM_MatMul)->Apply(Shapes)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The same over weights repacked as a model load repacks them (packed_weights.h).
// args: type id, n_rows, k, m, threads, highest kernel family allowed.
void BM_MatMulPacked(benchmark::State& state) {
  const auto t = static_cast<TensorType>(state.range(0));
  const int64_t n_rows = state.range(1), k = state.range(2), m = state.range(3);
  const auto family = static_cast<KernelVariant>(state.range(5));
  if (!CpuSupportsKernelVariant(family)) {
    state.SkipWithError("this CPU lacks the kernel family's features");
    return;
  }
  const size_t bytes = RowBytes(t, k) * n_rows;
  std::vector<uint8_t> w(bytes, 0x11);
  auto packed = PackedWeights::Create(t, w.data(), n_rows, k);
  if (packed == nullptr) {
    state.SkipWithError("this CPU reads the type in place");
    return;
  }
  SetMaxKernelVariant(family);
  std::vector<float> x(m * k, 0.5f), y(m * n_rows);
  for (auto _ : state) {
    MatMul(*packed, x.data(), m, y.data(), Pool(static_cast<int>(state.range(4))));
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n_rows * k * m);
  state.SetLabel(std::string(TensorTypeName(t)) + " " + PackedKernelName(t));
  SetMaxKernelVariant(KernelVariant::kAvx512Vnni);
}

// Batch 1 at the three matrix shapes on the best family; Q4_0 batched (2 to 16 rows) and
// prefill (512 rows) on it and on AVX2, with batch 1 at the output shape there too.
void PackedShapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"type", "rows", "k", "m", "threads", "family"});
  const int64_t best = static_cast<int64_t>(BestKernelVariant());
  const int64_t q4_0 = static_cast<int64_t>(TensorType::kQ4_0);
  for (TensorType t : {TensorType::kQ4_0, TensorType::kF16}) {
    for (int64_t rows : {2048, 8192, 128256}) {
      for (int threads : {1, 2}) b->Args({static_cast<int64_t>(t), rows, 2048, 1, threads, best});
    }
  }
  for (int64_t family : Families()) {
    for (int threads : {1, 2}) {
      if (family != best) b->Args({q4_0, 128256, 2048, 1, threads, family});
      for (int64_t m : {2, 4, 8, 16}) b->Args({q4_0, 128256, 2048, m, threads, family});
      b->Args({q4_0, 8192, 2048, 16, threads, family});
      b->Args({q4_0, 2048, 2048, 512, threads, family});
    }
  }
}
BENCHMARK(BM_MatMulPacked)->Apply(PackedShapes)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace baton::engine::kernels

BENCHMARK_MAIN();
