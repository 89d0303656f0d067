#include "engine/kernels/cpu/matmul.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/kernels/cpu/activations.h"
#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/matmul_test_body.h"
#include "engine/kernels/cpu/quantize.h"
#include "engine/kernels/cpu/row_kernels.h"
#include "engine/tensor/fp16.h"
#include "gtest/gtest.h"

namespace baton::engine::kernels {
namespace {

// ggml_vec_dot_f32 as llama.cpp's reference build (AVX-512, GCC) computes it, written out in
// its own structure: four 16-lane fma accumulators per 64 elements, GGML_F32x16_REDUCE, GCC's
// _mm512_reduce_add_ps, then the leftover loop as GCC compiled it (16- and 8-wide multiplies
// added lane by lane, the remainder fused).
float GgmlVecDotF32(const float* x, const float* y, int64_t n) {
  float sum[4][16] = {};
  const int64_t np = n & ~int64_t{63};
  for (int64_t i = 0; i < np; i += 64) {
    for (int j = 0; j < 4; ++j) {
      for (int e = 0; e < 16; ++e) {
        sum[j][e] = std::fma(x[i + 16 * j + e], y[i + 16 * j + e], sum[j][e]);
      }
    }
  }
  for (int offset = 2; offset > 0; offset >>= 1) {
    for (int j = 0; j < offset; ++j) {
      for (int e = 0; e < 16; ++e) sum[j][e] = sum[j][e] + sum[j + offset][e];
    }
  }
  float t8[8], t4[4];
  for (int e = 0; e < 8; ++e) t8[e] = sum[0][e + 8] + sum[0][e];
  for (int e = 0; e < 4; ++e) t4[e] = t8[e + 4] + t8[e];
  float sumf = (t4[0] + t4[2]) + (t4[1] + t4[3]);
  int64_t i = np;
  for (const int width : {16, 8}) {
    for (; n - i >= width; i += width) {
      float p[16];
      for (int e = 0; e < width; ++e) p[e] = x[i + e] * y[i + e];
      for (int e = 0; e < width; ++e) sumf = sumf + p[e];
    }
  }
  for (; i < n; ++i) sumf = std::fma(x[i], y[i], sumf);
  return sumf;
}

// Without AVX-512, f32 weights must round exactly as llama.cpp's do: a last-bit difference in
// stories260K's f32 ffn_down moved an activation across a Q8_0 rounding step of the next layer
// and its logits by 5e-3.
TEST(F32Test, PortableKernelsFollowGgmlVecDotF32) {
  for (const bool force_scalar : {true, false}) {
    // AVX-512 keeps its own order
    if (!force_scalar && CpuSupportsKernelVariant(KernelVariant::kAvx512)) continue;
    SetForceScalarKernels(force_scalar);
    for (const int64_t k : {1, 7, 8, 15, 44, 63, 64, 65, 79, 172, 200, 2048 + 13}) {
      const int64_t n_rows = 5, m = 3;
      const std::vector<float> w = Gaussian(n_rows * k, 11 + k);
      const std::vector<float> x = Gaussian(m * k, 12 + k, 0.1f);
      std::vector<float> y(m * n_rows);
      MatMul(TensorType::kF32, w.data(), n_rows, k, x.data(), m, y.data(), nullptr);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t r = 0; r < n_rows; ++r) {
          ASSERT_EQ(y[i * n_rows + r], GgmlVecDotF32(w.data() + r * k, x.data() + i * k, k))
              << MatMulKernelName(TensorType::kF32) << " k=" << k << " i=" << i << " r=" << r;
        }
      }
    }
  }
  SetForceScalarKernels(false);
}

TEST(F32Test, Avx2DotMatchesScalarBitForBit) {
  if (!CpuHasAvx2Kernels()) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  const std::vector<float> a = Gaussian(1000, 21), b = Gaussian(1000, 22, -0.3f);
  for (int64_t k = 0; k <= 1000; ++k) {
    ASSERT_EQ(DotF32Avx2(a.data(), b.data(), k), DotF32Scalar(a.data(), b.data(), k)) << k;
  }
}

// ggml's x86 quantize_row_q8_0 and ggml_vec_dot_q8_0_q8_0 written out: activations quantized per
// 32 with an fp16 scale and round-to-nearest-even quants from 127 / amax; per block, 8 float
// lanes each take fma(d_w * d_x, exact dot of 4 consecutive quants); hsum_float_8 at the end.
float GgmlVecDotQ8_0(const BlockQ8_0* w, const float* x, int64_t n) {
  float acc[8] = {};
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* xb = x + 32 * b;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float dx = Fp16ToFloat(FloatToFp16(amax / 127.0f));
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int8_t q[32];
    for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>(std::nearbyint(xb[j] * id));
    const float d = Fp16ToFloat(w[b].d) * dx;
    for (int l = 0; l < 8; ++l) {
      int32_t s = 0;
      for (int e = 4 * l; e < 4 * l + 4; ++e) s += w[b].qs[e] * q[e];
      acc[l] = std::fma(d, static_cast<float>(s), acc[l]);
    }
  }
  float r[4];
  for (int l = 0; l < 4; ++l) r[l] = acc[l + 4] + acc[l];
  return (r[0] + r[2]) + (r[1] + r[3]);
}

TEST(Q8_0Test, ScalarKernelFollowsGgmlVecDotQ8_0) {
  SetForceScalarKernels(true);
  for (const int64_t k : {32, 64, 32 * 7, 32 * 40}) {
    const int64_t n_rows = 4, m = 3;
    const std::vector<float> wf = Gaussian(n_rows * k, 31 + k);
    const std::vector<float> x = Gaussian(m * k, 32 + k, 0.2f);
    const size_t row_bytes = RowBytes(TensorType::kQ8_0, k);
    std::vector<uint8_t> w(row_bytes * n_rows);
    for (int64_t r = 0; r < n_rows; ++r) {
      QuantizeRow(TensorType::kQ8_0, wf.data() + r * k, w.data() + r * row_bytes, k);
    }
    std::vector<float> y(m * n_rows);
    MatMul(TensorType::kQ8_0, w.data(), n_rows, k, x.data(), m, y.data(), nullptr);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t r = 0; r < n_rows; ++r) {
        const auto* blk = reinterpret_cast<const BlockQ8_0*>(w.data() + r * row_bytes);
        ASSERT_EQ(y[i * n_rows + r], GgmlVecDotQ8_0(blk, x.data() + i * k, k))
            << "k=" << k << " i=" << i << " r=" << r;
      }
    }
  }
  SetForceScalarKernels(false);
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

// Q4_K / Q6_K rows at the extremes of their ranges (largest quants, scales and minimums of
// either sign, plus random bytes) against activations on the Q8 grid at +-127: the AVX2 row
// kernels' int16 pair sums must not saturate, so only float rounding separates them from the
// reference. m = 1..3 share one decode of each super-block: every activation row must get the
// bits it gets alone.
TEST(KTypesTest, Avx2RowKernelsExactAtTheExtremesAndAloneOrTogether) {
  if (!CpuHasAvx2Kernels()) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  SetMaxKernelVariant(KernelVariant::kAvx2);
  const int64_t k = 256 * 3, n_rows = 3, m = 3;
  std::vector<float> x(m * k);
  for (int64_t j = 0; j < k; ++j) {
    x[j] = 1.0f;
    x[k + j] = -1.0f;
    x[2 * k + j] = j % 3 == 0 ? -1.0f : 1.0f;
  }
  const std::vector<float> noise = Gaussian(n_rows * k, 41);
  for (TensorType t : {TensorType::kQ4_K, TensorType::kQ6_K}) {
    const size_t row_bytes = RowBytes(t, k);
    std::vector<uint8_t> w(row_bytes * n_rows);
    for (int64_t r = 0; r < n_rows; ++r) {
      uint8_t* row = w.data() + r * row_bytes;
      QuantizeRow(t, noise.data() + r * k, row, k);
      if (r == 2) continue;  // random quants
      for (int64_t b = 0; b < k / 256; ++b) {
        if (t == TensorType::kQ4_K) {
          auto* blk = reinterpret_cast<BlockQ4_K*>(row) + b;
          std::fill(std::begin(blk->qs), std::end(blk->qs), r == 0 ? 0xFF : 0x00);
          std::fill(std::begin(blk->scales), std::end(blk->scales), 0xFF);  // all 63
        } else {
          auto* blk = reinterpret_cast<BlockQ6_K*>(row) + b;
          std::fill(std::begin(blk->ql), std::end(blk->ql), r == 0 ? 0xFF : 0x00);  // 31, -32
          std::fill(std::begin(blk->qh), std::end(blk->qh), r == 0 ? 0xFF : 0x00);
          std::fill(std::begin(blk->scales), std::end(blk->scales), r == 0 ? 127 : -128);
        }
      }
    }
    std::vector<float> want(m * n_rows), together(m * n_rows);
    MatMulReference(t, w.data(), n_rows, k, x.data(), m, want.data());
    MatMul(t, w.data(), n_rows, k, x.data(), m, together.data(), nullptr);
    std::vector<float> wd(k);
    for (int64_t r = 0; r < n_rows; ++r) {
      DequantizeRow(t, w.data() + r * row_bytes, wd.data(), k);
      for (int64_t i = 0; i < m; ++i) {
        double abs_sum = 0;
        for (int64_t j = 0; j < k; ++j) abs_sum += std::fabs(double{wd[j]} * x[i * k + j]);
        ASSERT_NEAR(together[i * n_rows + r], want[i * n_rows + r], abs_sum * 1e-5)
            << TensorTypeName(t) << " r=" << r << " i=" << i;
      }
    }
    for (int64_t i = 0; i < m; ++i) {
      std::vector<float> alone(n_rows);
      MatMul(t, w.data(), n_rows, k, x.data() + i * k, 1, alone.data(), nullptr);
      for (int64_t r = 0; r < n_rows; ++r) {
        ASSERT_EQ(together[i * n_rows + r], alone[r]) << TensorTypeName(t) << " r=" << r;
      }
    }
  }
  SetMaxKernelVariant(KernelVariant::kAvx512Vnni);
}

// Block 256 (the K types) also keeps the sums of each 16 quants (Q6_K's sub-blocks), filled
// row range by row range like the rest; block 32 keeps none.
TEST(ActivationsTest, Block256KeepsSumsOf16Quants) {
  const int64_t m = 3, k = 512;
  const std::vector<float> x = Gaussian(m * k, 43);
  Q8Activations a;
  ResizeActivations(m, k, 256, 0, &a);
  QuantizeActivationRows(x.data(), 1, 3, &a);
  QuantizeActivationRows(x.data(), 0, 1, &a);
  ASSERT_EQ(a.sum16.size(), static_cast<size_t>(m * k / 16));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t g = 0; g < k / 16; ++g) {
      int want = 0;
      for (int j = 0; j < 16; ++j) want += a.row_qs(i)[16 * g + j];
      ASSERT_EQ(a.row_sum16(i)[g], want) << "row " << i << " group " << g;
    }
  }
  QuantizeActivations(x.data(), m, k, 32, 0, &a);
  EXPECT_TRUE(a.sum16.empty());
}

// The AVX2 quantizer gives QuantizeActivationRows' results exactly, row range by row range:
// both block sizes, with and without a bias, an all-zero block, exact ties after scaling, a
// block whose maximum is tiny (ggml's scale underflows) and one at the float range's top.
TEST(ActivationsTest, Avx2QuantizerMatchesScalar) {
  if (!CpuHasAvx2Kernels()) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  for (int block : {32, 256}) {
    for (int bias : {0, 32}) {
      const int64_t m = 5, k = block * 3;
      std::vector<float> x = Gaussian(m * k, 44 + block + bias);
      std::fill(x.begin() + k, x.begin() + k + block, 0.0f);            // row 1: a zero block
      for (int j = 0; j < block; ++j) x[2 * k + j] = -127.0f + 0.5f * j;  // row 2: ties
      for (int j = 0; j < block; ++j) x[3 * k + j] = 1e-39f * (j % 5);    // row 3: tiny
      for (int j = 0; j < block; ++j) x[4 * k + j] = (j % 2 ? 3e38f : -1e38f);
      Q8Activations want, got;
      QuantizeActivations(x.data(), m, k, block, bias, &want);
      ResizeActivations(m, k, block, bias, &got);
      QuantizeActivationRowsAvx2(x.data(), 2, m, &got);
      QuantizeActivationRowsAvx2(x.data(), 0, 2, &got);
      SCOPED_TRACE(testing::Message() << "block " << block << " bias " << bias);
      ExpectSameActivations(got, want);
    }
  }
}

// Quants round to nearest with ties to even: a block of amax 127 (d = 1) holding every
// multiple of 0.5 from -127 up.
TEST(ActivationsTest, QuantsRoundHalfToEven) {
  std::vector<float> x(256);
  for (int j = 0; j < 256; ++j) x[j] = -127.0f + 0.5f * j;
  Q8Activations a;
  QuantizeActivations(x.data(), 1, 256, 256, 0, &a);
  ASSERT_EQ(a.d[0], 1.0f);
  for (int j = 0; j < 256; ++j) {
    const int below = static_cast<int>(std::floor(x[j]));
    const float frac = x[j] - below;
    const int want = frac < 0.5f ? below : frac > 0.5f ? below + 1 : below + (below & 1);
    ASSERT_EQ(a.qs[j], want) << "x=" << x[j];
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllTypesAllFamilies, MatMulTest,
    ::testing::Combine(::testing::ValuesIn(kAllTensorTypes),
                       ::testing::ValuesIn(kAllKernelVariants),
                       ::testing::Values(kNativeAvx512Builds)),
    MatMulTestName);

INSTANTIATE_TEST_SUITE_P(Native, KernelTiersTest, ::testing::Values(kNativeAvx512Builds),
                         KernelTiersTestName);

}  // namespace
}  // namespace baton::engine::kernels
