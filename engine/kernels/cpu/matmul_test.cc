#include "engine/kernels/cpu/matmul.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <tuple>
#include <random>
#include <vector>

#include "common/status_matchers.h"
#include "engine/kernels/cpu/activations.h"
#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/quantize.h"
#include "engine/kernels/cpu/row_kernels.h"
#include "engine/kernels/cpu/tiled_kernels.h"
#include "engine/tensor/fp16.h"
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

// Every type on every kernel family (KernelVariant) against the scalar reference.
class MatMulTest : public ::testing::TestWithParam<std::tuple<TensorType, KernelVariant>> {
 protected:
  void SetUp() override {
    if (!CpuSupportsKernelVariant(variant())) {
      GTEST_SKIP() << "this CPU lacks the features of the " << KernelVariantName(variant())
                   << " kernels";
    }
    SetMaxKernelVariant(variant());
  }
  void TearDown() override { SetForceScalarKernels(false); }
  TensorType type() const { return std::get<0>(GetParam()); }
  KernelVariant variant() const { return std::get<1>(GetParam()); }

  // Checks MatMul (with and without a pool) against MatMulReference on the same weights.
  // Error bound: the kernels may quantize x to int8 with one scale per block of <= 256, which
  // moves each product by at most |w_j| * amax(block) / 254; bf16 activations move x by 2^-9.
  // 32-element blocks keep their scale in fp16 as ggml does (|q| <= 127 times a scale error of
  // <= 2^-11 * amax / 127): another |w_j| * amax / 2048.
  void Check(const Shape& s, ThreadPool* pool) {
    const TensorType t = type();
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
    const int64_t b = BlockElements(type()) == 256 ? 256 : 32;
    // The last shape is big enough (> 64K multiply-adds) for MatMul to use the pool.
    std::vector<Shape> shapes = {{13, b * 7, 1}, {13, b * 3, 3}, {5, b, 17},
                                 {1, b * 5, 2},  {40, b * 2, 1}, {301, b * 9, 5}};
    if (BlockElements(type()) == 1) {  // f32/f16/bf16 rows of any length (masked tails)
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

// Activations already on the 8-bit grid the integer kernels quantize to (each block's values
// are multiples of one scale with the extreme at +-127 steps) pass through that quantization
// unchanged, so a kernel's only error left is float rounding: its integer arithmetic (decoding,
// sub-block scales, minimums, offsets) is held to 1e-4 of sum |w x| against the dequantized
// reference, ~40x tighter than the general bound.
TEST_P(MatMulTest, ExactOnActivationsOnTheQ8Grid) {
  const TensorType t = type();
  if (BlockElements(t) == 1) GTEST_SKIP() << "float types do not quantize activations";
  const int block = BlockElements(t) == 256 ? 256 : 32;
  for (const Shape& s : Shapes()) {
    const std::vector<float> wf = Gaussian(s.n_rows * s.k, 5 + s.k);
    std::vector<float> x = Gaussian(s.m * s.k, 6 + s.m, 0.3f);
    Q8Activations q8;
    QuantizeActivations(x.data(), s.m, s.k, block, 0, &q8);
    for (int64_t j = 0; j < s.m * s.k; ++j) x[j] = q8.qs[j] * q8.d[j / block];
    const size_t row_bytes = RowBytes(t, s.k);
    std::vector<uint8_t> w(row_bytes * s.n_rows);
    std::vector<float> wd(s.k);
    std::vector<double> abs_sum(s.m * s.n_rows, 0.0);
    for (int64_t r = 0; r < s.n_rows; ++r) {
      QuantizeRow(t, wf.data() + r * s.k, w.data() + r * row_bytes, s.k);
      DequantizeRow(t, w.data() + r * row_bytes, wd.data(), s.k);
      for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < s.k; ++j) {
          abs_sum[i * s.n_rows + r] += std::fabs(double{wd[j]} * x[i * s.k + j]);
        }
      }
    }
    std::vector<float> want(s.m * s.n_rows), got(s.m * s.n_rows, NAN);
    MatMulReference(t, w.data(), s.n_rows, s.k, x.data(), s.m, want.data());
    MatMul(t, w.data(), s.n_rows, s.k, x.data(), s.m, got.data(), nullptr);
    for (size_t e = 0; e < got.size(); ++e) {
      ASSERT_NEAR(got[e], want[e], abs_sum[e] * 1e-4 + 1e-6)
          << TensorTypeName(t) << " kernel " << MatMulKernelName(t) << " n_rows=" << s.n_rows
          << " k=" << s.k << " m=" << s.m << " at " << e;
    }
  }
}

// The family under test really runs: a type with a kernel of its own in this family reports it
// (a dispatch that fell back to the scalar path would pass the accuracy checks unnoticed).
TEST_P(MatMulTest, UsesTheFamilysKernel) {
  const std::string name = MatMulKernelName(type());
  switch (variant()) {
    case KernelVariant::kScalar:
      EXPECT_EQ(name, "scalar");
      break;
    case KernelVariant::kAvx2:
      EXPECT_EQ(name.rfind("avx2", 0), 0u) << name;
      break;
    case KernelVariant::kAvx512Vnni:
      EXPECT_EQ(name.rfind("avx", 0), 0u) << name;
      break;
  }
}

TEST_P(MatMulTest, EmptyShapesDoNothing) {
  float y = 42;
  MatMul(type(), nullptr, 0, BlockElements(type()), nullptr, 1, &y, nullptr);
  MatMul(type(), nullptr, 1, BlockElements(type()), nullptr, 0, &y, nullptr);
  EXPECT_EQ(y, 42);
}

// Products of `t` on the kernels of family v (nullopt when the CPU lacks it).
std::optional<std::vector<float>> ProductsOn(KernelVariant v, TensorType t, const Shape& s,
                                             const std::vector<uint8_t>& w,
                                             const std::vector<float>& x) {
  if (!CpuSupportsKernelVariant(v)) return std::nullopt;
  SetMaxKernelVariant(v);
  std::vector<float> y(s.m * s.n_rows, NAN);
  MatMul(t, w.data(), s.n_rows, s.k, x.data(), s.m, y.data(), nullptr);
  SetForceScalarKernels(false);
  return y;
}

// Types whose every kernel rounds exactly as the scalar one (Q8_0: ggml's activation quantizer
// and per-block fma order; f32/f16/bf16: ggml's f32 summation order over exactly converted
// weights) give bit-identical results on every family below AVX-512 (whose f32 kernels keep
// their own order), on odd shapes. f16/bf16 from their tiled kernel's min_rows on go through the
// fp32 FMA tile (tiled_kernels.h), which sums in element order: only fewer rows are compared.
TEST(BitExactTest, SimdFamiliesMatchScalarBitForBit) {
  for (TensorType t : {TensorType::kQ8_0, TensorType::kF32, TensorType::kF16, TensorType::kBF16}) {
    for (const Shape& s : std::vector<Shape>{{7, 32 * 9, 1}, {301, 32 * 5, 5}, {3, 32, 4},
                                             {5, 32 * 41, 3}, {2, 32 * 2 + (BlockElements(t) == 1 ? 13 : 0), 2}}) {
      const bool tiled_f16 = t == TensorType::kF16 || t == TensorType::kBF16;
      if (tiled_f16 && s.m >= Avx2TiledKernel(t).min_rows) continue;
      const std::vector<float> wf = Gaussian(s.n_rows * s.k, 7);
      const std::vector<float> x = Gaussian(s.m * s.k, 8, -0.2f);
      const size_t row_bytes = RowBytes(t, s.k);
      std::vector<uint8_t> w(row_bytes * s.n_rows);
      for (int64_t r = 0; r < s.n_rows; ++r) {
        QuantizeRow(t, wf.data() + r * s.k, w.data() + r * row_bytes, s.k);
      }
      const auto scalar = ProductsOn(KernelVariant::kScalar, t, s, w, x);
      for (KernelVariant v : kAllKernelVariants) {
        if (v == KernelVariant::kScalar) continue;
        if (v == KernelVariant::kAvx512Vnni && t != TensorType::kQ8_0) continue;
        const auto simd = ProductsOn(v, t, s, w, x);
        if (!simd) {
          std::printf("skipped %s: this CPU lacks its features\n", KernelVariantName(v));
          continue;
        }
        EXPECT_EQ(*simd, *scalar) << TensorTypeName(t) << " on " << KernelVariantName(v)
                                  << " n_rows=" << s.n_rows << " k=" << s.k << " m=" << s.m;
      }
    }
  }
}

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
    if (!force_scalar && CpuHasAvx512Kernels()) continue;  // AVX-512 keeps its own order
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

INSTANTIATE_TEST_SUITE_P(
    AllTypesAllFamilies, MatMulTest,
    ::testing::Combine(::testing::ValuesIn(kAllTensorTypes), ::testing::ValuesIn(kAllKernelVariants)),
    [](const auto& info) {
      return std::string(TensorTypeName(std::get<0>(info.param))) + "_" +
             KernelVariantName(std::get<1>(info.param));
    });

}  // namespace
}  // namespace baton::engine::kernels
