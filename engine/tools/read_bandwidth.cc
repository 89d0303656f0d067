#include "engine/tools/read_bandwidth.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace baton::engine::tools {
namespace {

// Sum of n floats with 16 independent partial sums, so the loop is bound by loads rather than
// by one chain of additions. Portable version (GCC's -O2 leaves it scalar).
double SumFloatsPortable(const float* p, int64_t n) {
  constexpr int kLanes = 16;
  float partial[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) partial[l] += p[i + l];
  }
  double s = 0;
  for (; i < n; ++i) s += p[i];
  for (float v : partial) s += v;
  return s;
}

// The same with four independent 8-lane AVX accumulators: 128 bytes per iteration, and the
// lines 2 KiB ahead asked for as the decode kernels ask for their weights (the hardware
// prefetcher alone keeps too few lines in flight to reach this machine's DRAM bandwidth, so
// without it the bound would sit below what decode reads).
__attribute__((target("avx"))) double SumFloatsAvx(const float* p, int64_t n) {
  constexpr int64_t kAheadFloats = 2048 / sizeof(float);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    _mm_prefetch(reinterpret_cast<const char*>(p + i + kAheadFloats), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + i + kAheadFloats + 16), _MM_HINT_T0);
    for (int a = 0; a < 4; ++a) acc[a] = _mm256_add_ps(acc[a], _mm256_loadu_ps(p + i + 8 * a));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  double s = SumFloatsPortable(p + i, n - i);
  for (float v : lanes) s += v;
  return s;
}

double SumFloats(const float* p, int64_t n) {
  static const bool avx = __builtin_cpu_supports("avx");
  return avx ? SumFloatsAvx(p, n) : SumFloatsPortable(p, n);
}

}  // namespace

absl::StatusOr<ReadBandwidth> MeasureReadBandwidth(const ReadBandwidthOptions& o) {
  if (o.threads < 1 || o.threads > 256 || o.repetitions < 1 ||
      o.buffer_bytes < int64_t{4096} * o.threads) {
    return absl::InvalidArgumentError(
        "read bandwidth needs 1 <= threads <= 256, repetitions >= 1, 4 KiB per thread");
  }
  const int64_t n = o.buffer_bytes / static_cast<int64_t>(sizeof(float));
  std::unique_ptr<float[]> buffer(new float[n]);
  for (int64_t i = 0; i < n; ++i) buffer[i] = static_cast<float>(i % 1024) * 0.001f;

  std::vector<double> sums(o.threads);
  // One pass over the buffer split into contiguous slices, one per thread; returns seconds.
  auto pass = [&] {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int32_t t = 1; t < o.threads; ++t) {
      threads.emplace_back([&, t] {
        const int64_t begin = n * t / o.threads;
        sums[t] = SumFloats(buffer.get() + begin, n * (t + 1) / o.threads - begin);
      });
    }
    sums[0] = SumFloats(buffer.get(), n / o.threads);
    for (std::thread& th : threads) th.join();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  pass();  // page in and warm the TLB
  ReadBandwidth result;
  for (int32_t r = 0; r < o.repetitions; ++r) {
    const double seconds = pass();
    result.best_bytes_per_second =
        std::max(result.best_bytes_per_second, static_cast<double>(n * sizeof(float)) / seconds);
  }
  for (double s : sums) result.checksum += s;
  return result;
}

}  // namespace baton::engine::tools
