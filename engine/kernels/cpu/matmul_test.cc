#include "engine/kernels/cpu/matmul.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "common/status_matchers.h"
#include "engine/kernels/cpu/activations.h"
#include "engine/kernels/cpu/quantize.h"
#include "engine/kernels/cpu/row_kernels.h"
#include "engine/threading/thread_pool.h"
#include "gtest/gtest.h"

namespace baton::engine::kernels {
namespace {

std::vector<float> Gaussian(int64_t n, uint32_t seed, float mean = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, 1.0f);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

struct Shape {
  int64_t n_rows, k, m;
};

class MatMulTest : public ::testing::TestWithParam<TensorType> {
 protected:
  void TearDown() override { SetForceScalarKernels(false); }

  // Checks MatMul (with and without a pool) against MatMulReference on the same weights.
  // Error bound: the kernels may quantize x to int8 with one scale per block of <= 256, which
  // moves each product by at most |w_j| * amax(block) / 254; bf16 activations move x by 2^-9.
  // 32-element blocks keep their scale in fp16 as ggml does (|q| <= 127 times a scale error of
  // <= 2^-11 * amax / 127): another |w_j| * amax / 2048.
  void Check(const Shape& s, ThreadPool* pool) {
    const TensorType t = GetParam();
    const std::vector<float> wf = Gaussian(s.n_rows * s.k, 1 + s.k + s.n_rows);
    // Mixed signs and an offset so min/offset terms (Q4_1, K types) matter.
    const std::vector<float> x = Gaussian(s.m * s.k, 99 + s.m, 0.3f);
    const size_t row_bytes = RowBytes(t, s.k);
    std::vector<uint8_t> w(row_bytes * s.n_rows);
    for (int64_t r = 0; r < s.n_rows; ++r) {
      QuantizeRow(t, wf.data() + r * s.k, w.data() + r * row_bytes, s.k);
    }
    std::vector<float> wd(s.n_rows * s.k);
    for (int64_t r = 0; r < s.n_rows; ++r) {
      DequantizeRow(t, w.data() + r * row_bytes, wd.data() + r * s.k, s.k);
    }
    std::vector<float> want(s.m * s.n_rows), got(s.m * s.n_rows, NAN);
    MatMulReference(t, w.data(), s.n_rows, s.k, x.data(), s.m, want.data());
    MatMul(t, w.data(), s.n_rows, s.k, x.data(), s.m, got.data(), pool);
    // amax of each activation's 256-element blocks (bounds the 32-element ones too).
    std::vector<float> amax(s.m * ((s.k + 255) / 256), 0.0f);
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.k; ++j) {
        float& a = amax[i * ((s.k + 255) / 256) + j / 256];
        a = std::max(a, std::fabs(x[i * s.k + j]));
      }
    }
    const double q8_step = 1.0 / 254 + (BlockElements(t) == 32 ? 1.0 / 2048 : 0.0);
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t r = 0; r < s.n_rows; ++r) {
        double q8_bound = 0, abs_sum = 0;
        for (int64_t j = 0; j < s.k; ++j) {
          q8_bound += std::fabs(wd[r * s.k + j]) * amax[i * ((s.k + 255) / 256) + j / 256] * q8_step;
          abs_sum += std::fabs(wd[r * s.k + j] * x[i * s.k + j]);
        }
        const double bound = q8_bound * 1.01 + abs_sum * 4e-3 + 1e-5;
        ASSERT_NEAR(got[i * s.n_rows + r], want[i * s.n_rows + r], bound)
            << TensorTypeName(t) << " kernel " << MatMulKernelName(t) << " n_rows=" << s.n_rows
            << " k=" << s.k << " m=" << s.m << " at i=" << i << " r=" << r;
      }
    }
  }

  std::vector<Shape> Shapes() const {
    const int64_t b = BlockElements(GetParam()) == 256 ? 256 : 32;
    // The last shape is big enough (> 64K multiply-adds) for MatMul to use the pool.
    std::vector<Shape> shapes = {{13, b * 7, 1}, {13, b * 3, 3}, {5, b, 17},
                                 {1, b * 5, 2},  {40, b * 2, 1}, {301, b * 9, 5}};
    if (BlockElements(GetParam()) == 1) {  // f32/f16/bf16 rows of any length (masked tails)
      shapes.insert(shapes.end(), {{3, 37, 2}, {7, 1, 5}, {300, 333, 3}});
    }
    return shapes;
  }
};

TEST_P(MatMulTest, MatchesReferenceSingleThreaded) {
  for (const Shape& s : Shapes()) Check(s, nullptr);
}

TEST_P(MatMulTest, MatchesReferenceOnAPool) {
  ASSERT_OK_AND_ASSIGN(auto pool, ThreadPool::Create(2));
  for (const Shape& s : Shapes()) Check(s, pool.get());
  ASSERT_OK_AND_ASSIGN(auto pool3, ThreadPool::Create(3));
  for (const Shape& s : Shapes()) Check(s, pool3.get());
}

TEST_P(MatMulTest, ScalarKernelsMatchReference) {
  SetForceScalarKernels(true);
  EXPECT_STREQ(MatMulKernelName(GetParam()), "scalar");
  for (const Shape& s : Shapes()) Check(s, nullptr);
}

TEST_P(MatMulTest, EmptyShapesDoNothing) {
  float y = 42;
  MatMul(GetParam(), nullptr, 0, BlockElements(GetParam()), nullptr, 1, &y, nullptr);
  MatMul(GetParam(), nullptr, 1, BlockElements(GetParam()), nullptr, 0, &y, nullptr);
  EXPECT_EQ(y, 42);
}

// Q8_0 follows ggml's rounding exactly on every kernel, so the SIMD and scalar results must be
// bit-identical (the other types only agree within the bound above).
TEST(Q8_0Test, SimdAndScalarKernelsAgreeBitForBit) {
  if (!CpuHasAvx512Kernels()) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (const Shape& s : std::vector<Shape>{{7, 32 * 9, 1}, {301, 32 * 5, 5}, {3, 32, 4}}) {
    const std::vector<float> wf = Gaussian(s.n_rows * s.k, 7);
    const std::vector<float> x = Gaussian(s.m * s.k, 8, -0.2f);
    const size_t row_bytes = RowBytes(TensorType::kQ8_0, s.k);
    std::vector<uint8_t> w(row_bytes * s.n_rows);
    for (int64_t r = 0; r < s.n_rows; ++r) {
      QuantizeRow(TensorType::kQ8_0, wf.data() + r * s.k, w.data() + r * row_bytes, s.k);
    }
    std::vector<float> simd(s.m * s.n_rows), scalar(s.m * s.n_rows);
    MatMul(TensorType::kQ8_0, w.data(), s.n_rows, s.k, x.data(), s.m, simd.data(), nullptr);
    SetForceScalarKernels(true);
    MatMul(TensorType::kQ8_0, w.data(), s.n_rows, s.k, x.data(), s.m, scalar.data(), nullptr);
    SetForceScalarKernels(false);
    EXPECT_EQ(simd, scalar) << "n_rows=" << s.n_rows << " k=" << s.k << " m=" << s.m;
  }
}

// Block-32 activations use ggml's quantizer: scale rounded to fp16, quants from 127 / amax.
TEST(ActivationsTest, Block32ScaleIsFp16Rounded) {
  std::vector<float> x(32, 0.0f);
  x[0] = 1.0f;  // amax / 127 = 0.007874015..., not representable in fp16
  x[1] = -0.5f;
  Q8Activations a;
  QuantizeActivations(x.data(), 1, 32, 32, 0, &a);
  EXPECT_EQ(a.d[0], 0.0078735352f);  // fp16 nearest to 1/127
  EXPECT_EQ(a.qs[0], 127);
  EXPECT_EQ(a.qs[1], -64);  // -63.5 rounds to even
  EXPECT_EQ(a.qs[2], 0);
}

TEST(ActivationsTest, SimdQuantizerMatchesScalar) {
  if (!CpuHasAvx512Kernels()) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (int block : {32, 256}) {
    for (int64_t m : {1, 3}) {
      const int64_t k = block == 32 ? 32 * 7 : 256 * 3;
      std::vector<float> x = Gaussian(m * k, 5, 0.1f);
      x[3] = 0.5f * 127 / 127;  // exact ties after scaling are rounded the same way
      std::fill(x.begin() + 32, x.begin() + 64, 0.0f);  // an all-zero block
      Q8Activations a, b;
      QuantizeActivations(x.data(), m, k, block, 32, &a);
      QuantizeActivationsAvx512(x.data(), m, k, block, 32, &b);
      EXPECT_EQ(a.qs, b.qs);
      EXPECT_EQ(a.d, b.d);
      EXPECT_EQ(a.corr, b.corr);
      EXPECT_EQ(a.sum32, b.sum32);
      EXPECT_EQ(a.d8, b.d8);
      EXPECT_EQ(a.dsum32, b.dsum32);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatMulTest, ::testing::ValuesIn(kAllTensorTypes),
                         [](const auto& info) { return std::string(TensorTypeName(info.param)); });

}  // namespace
}  // namespace baton::engine::kernels
