// Weights repacked at load: MatMul over the packed copy equals MatMul over the source bit for
// bit, for every m (decode, batched decode, prefill; F16/BF16 from 4 rows, below which the
// source's row kernels keep ggml's order) and on shapes off the 8-row panel; a row's products
// over the packed copy never depend on the batch; packing reports every source byte once, in
// order; types read in place are not copied.
#include "engine/kernels/cpu/packed_weights.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/kernels/cpu/matmul.h"
#include "engine/kernels/cpu/quantize.h"
#include "engine/kernels/cpu/tiled_kernels.h"
#include "engine/threading/thread_pool.h"
#include "gtest/gtest.h"

namespace baton::engine::kernels {
namespace {

std::vector<uint8_t> RandomWeights(TensorType t, int64_t n_rows, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> wf(k);
  const size_t row_bytes = RowBytes(t, k);
  std::vector<uint8_t> w(row_bytes * n_rows);
  for (int64_t r = 0; r < n_rows; ++r) {
    for (float& f : wf) f = dist(rng);
    QuantizeRow(t, wf.data(), w.data() + r * row_bytes, k);
  }
  return w;
}

std::vector<float> RandomActivations(int64_t m, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.3f, 1.0f);  // off zero: the Q4_0 offset term matters
  std::vector<float> x(m * k);
  for (float& f : x) f = dist(rng);
  return x;
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The types some kernel on this CPU reads repacked.
std::vector<TensorType> PackedTypes() {
  std::vector<TensorType> types;
  for (TensorType t : {TensorType::kQ4_0, TensorType::kF16, TensorType::kBF16}) {
    if (MatMulReadsPacked(t)) types.push_back(t);
  }
  return types;
}

bool IsHalf(TensorType t) { return t == TensorType::kF16 || t == TensorType::kBF16; }

TEST(PackedWeightsTest, MatchesTheSourceBitForBitAndRowsDoNotDependOnTheBatch) {
  if (PackedTypes().empty()) {
    GTEST_SKIP() << "no kernel on this CPU reads weights repacked (it needs AVX2, FMA and F16C)";
  }
  std::unique_ptr<ThreadPool> pool = *ThreadPool::Create(2);
  for (TensorType t : PackedTypes()) {
    // k: one block; three; 65 blocks of 32, which for 16-bit floats is 8 GEMM k blocks + 32.
    for (int64_t n_rows : {1, 7, 8, 9, 17, 40, 67}) {
      for (int64_t k : {32, 96, 32 * 65}) {
        const std::vector<uint8_t> w = RandomWeights(t, n_rows, k, n_rows * 7 + k);
        auto packed = PackedWeights::Create(t, w.data(), n_rows, k);
        ASSERT_NE(packed, nullptr);
        EXPECT_EQ(packed->bytes() % (IsHalf(t) ? 8 * k * 2 : kPackedQ4_0BlockBytes), 0u);
        for (int64_t m : {1, 2, 3, 4, 5, 7, 9, 16, 23}) {
          SCOPED_TRACE(testing::Message() << TensorTypeName(t) << " n_rows " << n_rows << " k "
                                          << k << " m " << m);
          const std::vector<float> x = RandomActivations(m, k, m * 13 + k);
          std::vector<float> batched(m * n_rows, NAN);
          MatMul(*packed, x.data(), m, batched.data(), pool.get());
          for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), pool.get()}) {
            std::vector<float> want(m * n_rows, NAN), got(m * n_rows, NAN);
            MatMul(t, w.data(), n_rows, k, x.data(), m, want.data(), p);
            MatMul(*packed, x.data(), m, got.data(), p);
            if (!IsHalf(t) || m >= 4) EXPECT_TRUE(SameBits(want, got));
            EXPECT_TRUE(SameBits(batched, got));
            // Below 4 rows, 16-bit floats differ from the row kernels by float rounding only.
            for (size_t v = 0; v < want.size(); ++v) {
              ASSERT_NEAR(got[v], want[v], 1e-4f * (1.0f + std::fabs(want[v]))) << v;
            }
          }
          // Each sequence's products are those it gets alone (row i of an m-row batch), for
          // the first and last rows (positions in the GEMM's tiles of 6 and at the tail).
          for (int64_t i : {int64_t{0}, m - 1}) {
            std::vector<float> alone(n_rows);
            MatMul(*packed, x.data() + i * k, 1, alone.data(), pool.get());
            EXPECT_EQ(std::memcmp(alone.data(), batched.data() + i * n_rows,
                                  n_rows * sizeof(float)), 0) << "row " << i;
          }
        }
      }
    }
  }
}

// A prompt long enough for the Q4_0 kernel's cache blocking (activation rows in chunks of about
// 256 KB, weight panels in groups of about 256 KB: here 3 chunks and 2 groups on one thread),
// and with AVX-512 VNNI its 8-row passes: every build of the kernel gives MatMul over the
// source's results bit for bit, and a row's products equal those it gets alone.
TEST(PackedWeightsTest, Q4_0BuildsAgreeAcrossCacheBlocksAndActivationPasses) {
  if (!MatMulReadsPacked(TensorType::kQ4_0)) GTEST_SKIP() << "Q4_0 is not repacked on this CPU";
  const int64_t n_rows = 8 * 30 + 3, k = 32 * 65, m = 203;
  const std::vector<uint8_t> w = RandomWeights(TensorType::kQ4_0, n_rows, k, 31);
  auto packed = PackedWeights::Create(TensorType::kQ4_0, w.data(), n_rows, k);
  ASSERT_NE(packed, nullptr);
  const std::vector<float> x = RandomActivations(m, k, 32);
  std::vector<float> want(m * n_rows, NAN);
  MatMul(TensorType::kQ4_0, w.data(), n_rows, k, x.data(), m, want.data(), nullptr);
  std::vector<KernelVariant> families = {KernelVariant::kAvx2};
  if (Avx512VnniPackedKernel(TensorType::kQ4_0).kernel != nullptr) {
    families.push_back(KernelVariant::kAvx512Vnni);
  }
  std::unique_ptr<ThreadPool> pool = *ThreadPool::Create(2);
  for (KernelVariant family : families) {
    SetMaxKernelVariant(family);
    SCOPED_TRACE(PackedKernelName(TensorType::kQ4_0));
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), pool.get()}) {
      std::vector<float> got(m * n_rows, NAN);
      MatMul(*packed, x.data(), m, got.data(), p);
      EXPECT_TRUE(SameBits(want, got));
    }
    for (int64_t i : {int64_t{0}, int64_t{100}, m - 1}) {
      std::vector<float> alone(n_rows);
      MatMul(*packed, x.data() + i * k, 1, alone.data(), nullptr);
      EXPECT_EQ(std::memcmp(alone.data(), want.data() + i * n_rows, n_rows * sizeof(float)), 0)
          << "row " << i;
    }
  }
  SetMaxKernelVariant(KernelVariant::kAvx512Vnni);
  if (families.size() == 1) {
    GTEST_SKIP() << "checked the AVX2 build only: this CPU lacks AVX-512 VL or VNNI";
  }
  EXPECT_STREQ(PackedKernelName(TensorType::kQ4_0), "avx512vnni-packed");
}

// The VmFlags line of /proc/self/smaps for the mapping that holds `address`, or "".
std::string VmFlagsOf(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " ", &begin, &end) == 2 &&
        line.find(':') > line.find(' ')) {
      inside = begin <= at && at < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

// A repacked copy asks for transparent huge pages on the whole 2 MiB pages inside it (smaps
// shows the advice as the VmFlag "hg"), so that streaming it at decode does not wait on TLB
// misses.
TEST(PackedWeightsTest, LargeCopiesAskForHugePages) {
  if (!MatMulReadsPacked(TensorType::kQ4_0)) GTEST_SKIP() << "Q4_0 is not repacked on this CPU";
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  if (!std::getline(thp, modes) || modes.find("[never]") != std::string::npos) {
    GTEST_SKIP() << "this kernel has no transparent huge pages to ask for";
  }
  const int64_t n_rows = 8 * 4096, k = 256;  // 4.5 MiB packed
  const std::vector<uint8_t> w(RowBytes(TensorType::kQ4_0, k) * n_rows, 0x11);
  auto packed = PackedWeights::Create(TensorType::kQ4_0, w.data(), n_rows, k);
  ASSERT_NE(packed, nullptr);
  constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
  const uintptr_t page =
      (reinterpret_cast<uintptr_t>(packed->data()) + kHugePage - 1) & ~(kHugePage - 1);
  ASSERT_LE(page + kHugePage, reinterpret_cast<uintptr_t>(packed->data()) + packed->bytes());
  const std::string flags = VmFlagsOf(reinterpret_cast<const void*>(page));
  ASSERT_FALSE(flags.empty()) << "no mapping holds the packed copy";
  EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;
}

TEST(PackedWeightsTest, RowsReadBackFromThePackedCopyEqualTheSourceRows) {
  if (PackedTypes().empty()) GTEST_SKIP() << "no type is repacked on this CPU";
  for (TensorType t : PackedTypes()) {
    const int64_t n_rows = 8 * 3 + 5, k = 96;
    const std::vector<uint8_t> w = RandomWeights(t, n_rows, k, 21);
    auto packed = PackedWeights::Create(t, w.data(), n_rows, k);
    ASSERT_NE(packed, nullptr);
    EXPECT_EQ(packed->bytes(), IsHalf(t) ? 4u * 8 * k * 2 : PackedQ4_0Bytes(n_rows, k));
    const size_t row_bytes = RowBytes(t, k);
    std::vector<float> want(k), got(k);
    for (int64_t r = 0; r < n_rows; ++r) {
      DequantizeRow(t, w.data() + r * row_bytes, want.data(), k);
      DequantizePackedRow(*packed, r, got.data());
      EXPECT_TRUE(SameBits(want, got)) << TensorTypeName(t) << " row " << r;
    }
  }
}

TEST(PackedWeightsTest, PackingReleasesEverySourceByteOnceInOrder) {
  if (!MatMulReadsPacked(TensorType::kQ4_0)) GTEST_SKIP() << "Q4_0 is not repacked on this CPU";
  const int64_t n_rows = 8 * 150 + 3, k = 64;  // several release pieces, a partial last panel
  const std::vector<uint8_t> w = RandomWeights(TensorType::kQ4_0, n_rows, k, 5);
  const uint8_t* next = w.data();
  int pieces = 0;
  auto packed = PackedWeights::Create(TensorType::kQ4_0, w.data(), n_rows, k,
                                      [&](const uint8_t* begin, size_t bytes) {
                                        EXPECT_EQ(begin, next);
                                        next = begin + bytes;
                                        ++pieces;
                                      });
  ASSERT_NE(packed, nullptr);
  EXPECT_EQ(next, w.data() + w.size());
  EXPECT_GT(pieces, 1);
  EXPECT_EQ(packed->bytes(), 151u * (k / 32) * kPackedQ4_0BlockBytes);
}

TEST(PackedWeightsTest, TypesReadInPlaceAreNotCopied) {
  for (TensorType t : {TensorType::kF32, TensorType::kQ8_0, TensorType::kQ4_K, TensorType::kQ6_K}) {
    const std::vector<uint8_t> w = RandomWeights(t, 8, 256, 3);
    EXPECT_FALSE(MatMulReadsPacked(t)) << TensorTypeName(t);
    EXPECT_EQ(PackedWeights::Create(t, w.data(), 8, 256), nullptr) << TensorTypeName(t);
  }
}

TEST(PackedWeightsTest, FallsBackToTheSourceWhenThePackedKernelIsNotAllowed) {
  if (!MatMulReadsPacked(TensorType::kQ4_0)) GTEST_SKIP() << "Q4_0 is not repacked on this CPU";
  const int64_t n_rows = 11, k = 64, m = 3;
  const std::vector<uint8_t> w = RandomWeights(TensorType::kQ4_0, n_rows, k, 9);
  auto packed = PackedWeights::Create(TensorType::kQ4_0, w.data(), n_rows, k);
  ASSERT_NE(packed, nullptr);
  const std::vector<float> x = RandomActivations(m, k, 4);
  SetMaxKernelVariant(KernelVariant::kScalar);
  EXPECT_FALSE(MatMulReadsPacked(TensorType::kQ4_0));
  std::vector<float> want(m * n_rows), got(m * n_rows);
  MatMul(TensorType::kQ4_0, w.data(), n_rows, k, x.data(), m, want.data(), nullptr);
  MatMul(*packed, x.data(), m, got.data(), nullptr);
  SetMaxKernelVariant(KernelVariant::kAvx512Vnni);
  EXPECT_TRUE(SameBits(want, got));
}

// Products of the same activations in one call: each equals its own MatMul (over its packed copy
// when it has one) bit for bit, whether
// its kernel shares the quantized activations and the loop with its neighbours or not (types
// mixed so that both happen), at decode, batched-decode and prefill batch sizes.
TEST(PackedWeightsTest, SharedProductsEqualSeparateProducts) {
  const int64_t k = 256;
  const std::vector<std::pair<TensorType, int64_t>> weights = {
      {TensorType::kQ4_0, 40}, {TensorType::kQ4_0, 9}, {TensorType::kQ4_0, 16},
      {TensorType::kQ8_0, 24}, {TensorType::kQ4_K, 17}, {TensorType::kQ6_K, 8},
      {TensorType::kF16, 11}};
  std::vector<std::vector<uint8_t>> w;
  std::vector<std::unique_ptr<const PackedWeights>> packed;
  for (size_t i = 0; i < weights.size(); ++i) {
    w.push_back(RandomWeights(weights[i].first, weights[i].second, k, 100 + i));
    // The second Q4_0 stays unpacked: packed and in-place products of one type side by side.
    packed.push_back(i == 1 ? nullptr
                            : PackedWeights::Create(weights[i].first, w[i].data(),
                                                    weights[i].second, k));
  }
  std::unique_ptr<ThreadPool> pool = *ThreadPool::Create(2);
  for (int64_t m : {1, 3, 4, 16}) {
    SCOPED_TRACE(testing::Message() << "m " << m);
    const std::vector<float> x = RandomActivations(m, k, 77 + m);
    std::vector<std::vector<float>> want(weights.size()), got(weights.size());
    std::vector<SharedProduct> products;
    for (size_t i = 0; i < weights.size(); ++i) {
      const auto [t, n_rows] = weights[i];
      want[i].assign(m * n_rows, NAN);
      got[i].assign(m * n_rows, NAN);
      if (packed[i] != nullptr) {
        MatMul(*packed[i], x.data(), m, want[i].data(), pool.get());
      } else {
        MatMul(t, w[i].data(), n_rows, k, x.data(), m, want[i].data(), pool.get());
      }
      products.push_back({t, w[i].data(), packed[i].get(), n_rows, got[i].data()});
    }
    MatMulShared(products, k, x.data(), m, pool.get());
    for (size_t i = 0; i < weights.size(); ++i) {
      EXPECT_TRUE(SameBits(want[i], got[i])) << "product " << i << " "
                                             << TensorTypeName(weights[i].first);
    }
  }
}

}  // namespace
}  // namespace baton::engine::kernels
