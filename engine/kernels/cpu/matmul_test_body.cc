#include "engine/kernels/cpu/matmul_test_body.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>

#include "common/status_matchers.h"
#include "engine/kernels/cpu/activations.h"
#include "engine/kernels/cpu/matmul_testing.h"
#include "engine/kernels/cpu/quantize.h"
#include "engine/kernels/cpu/tiled_kernels.h"

namespace baton::engine::kernels {

std::vector<float> Gaussian(int64_t n, uint32_t seed, float mean) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, 1.0f);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

namespace {

void Install(const Avx512Builds& b) { SetAvx512FamiliesForTesting(b.vnni, b.no_vnni); }

void Restore() {
  SetForceScalarKernels(false);
  SetAvx512FamiliesForTesting(nullptr, nullptr);
}

// The build behind tier v, or nullptr below AVX-512.
const Avx512Family* FamilyOf(const Avx512Builds& b, KernelVariant v) {
  if (v == KernelVariant::kAvx512Vnni) return b.vnni;
  if (v == KernelVariant::kAvx512) return b.no_vnni;
  return nullptr;
}

// Quantized weights of `t`: n_rows rows of k.
std::vector<uint8_t> QuantizeRows(TensorType t, const std::vector<float>& wf, const Shape& s) {
  const size_t row_bytes = RowBytes(t, s.k);
  std::vector<uint8_t> w(row_bytes * s.n_rows);
  for (int64_t r = 0; r < s.n_rows; ++r) {
    QuantizeRow(t, wf.data() + r * s.k, w.data() + r * row_bytes, s.k);
  }
  return w;
}

}  // namespace

void MatMulTest::SetUp() {
  Install(builds());
  if (!CpuSupportsKernelVariant(variant())) {
    GTEST_SKIP() << "this CPU lacks the features of the " << KernelVariantName(variant())
                 << " kernels";
  }
  SetMaxKernelVariant(variant());
}

void MatMulTest::TearDown() { Restore(); }

// Error bound: the kernels may quantize x to int8 with one scale per block of <= 256, which
// moves each product by at most |w_j| * amax(block) / 254; bf16 activations move x by 2^-9.
// 32-element blocks keep their scale in fp16 as ggml does (|q| <= 127 times a scale error of
// <= 2^-11 * amax / 127): another |w_j| * amax / 2048.
void MatMulTest::Check(const Shape& s, ThreadPool* pool) {
  const TensorType t = type();
  const std::vector<float> wf = Gaussian(s.n_rows * s.k, 1 + s.k + s.n_rows);
  // Mixed signs and an offset so min/offset terms (Q4_1, K types) matter.
  const std::vector<float> x = Gaussian(s.m * s.k, 99 + s.m, 0.3f);
  const size_t row_bytes = RowBytes(t, s.k);
  const std::vector<uint8_t> w = QuantizeRows(t, wf, s);
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

std::vector<Shape> MatMulTest::Shapes() const {
  const int64_t b = BlockElements(type()) == 256 ? 256 : 32;
  // The last shape is big enough (> 64K multiply-adds) for MatMul to use the pool.
  std::vector<Shape> shapes = {{13, b * 7, 1}, {13, b * 3, 3}, {5, b, 17},
                               {1, b * 5, 2},  {40, b * 2, 1}, {301, b * 9, 5}};
  if (BlockElements(type()) == 1) {  // f32/f16/bf16 rows of any length (masked tails)
    shapes.insert(shapes.end(), {{3, 37, 2}, {7, 1, 5}, {300, 333, 3}});
  }
  return shapes;
}

std::string MatMulTestName(const ::testing::TestParamInfo<MatMulTest::ParamType>& info) {
  return std::string(TensorTypeName(std::get<0>(info.param))) + "_" +
         KernelVariantName(std::get<1>(info.param)) + "_" + std::get<2>(info.param).name;
}

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
    const std::vector<uint8_t> w = QuantizeRows(t, wf, s);
    std::vector<float> wd(s.k);
    std::vector<double> abs_sum(s.m * s.n_rows, 0.0);
    for (int64_t r = 0; r < s.n_rows; ++r) {
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

// The tier under test really runs: a type with a kernel of its own in this tier reports it (a
// dispatch that fell back to a lower tier would pass the accuracy checks unnoticed).
TEST_P(MatMulTest, UsesTheFamilysKernel) {
  const std::string name = MatMulKernelName(type());
  switch (variant()) {
    case KernelVariant::kScalar:
      EXPECT_EQ(name, "scalar");
      break;
    case KernelVariant::kAvx2:
      EXPECT_EQ(name.rfind("avx2", 0), 0u) << name;
      break;
    case KernelVariant::kAvx512:
    case KernelVariant::kAvx512Vnni: {
      const KernelChoice own = FamilyOf(builds(), variant())->kernel(type());
      if (own.kernel != nullptr) {
        EXPECT_EQ(name, own.name);
        // Only the VNNI tier's integer kernels say so.
        EXPECT_EQ(name.find("vnni") != std::string::npos,
                  variant() == KernelVariant::kAvx512Vnni && BlockElements(type()) > 1)
            << name;
      } else {  // no AVX-512 kernel for this type: the AVX2 one
        EXPECT_EQ(name.rfind("avx2", 0), 0u) << name;
      }
      break;
    }
  }
}

TEST_P(MatMulTest, EmptyShapesDoNothing) {
  float y = 42;
  MatMul(type(), nullptr, 0, BlockElements(type()), nullptr, 1, &y, nullptr);
  MatMul(type(), nullptr, 1, BlockElements(type()), nullptr, 0, &y, nullptr);
  EXPECT_EQ(y, 42);
}

void KernelTiersTest::SetUp() { Install(GetParam()); }

void KernelTiersTest::TearDown() { Restore(); }

std::string KernelTiersTestName(const ::testing::TestParamInfo<Avx512Builds>& info) {
  return info.param.name;
}

namespace {

// Products of `t` on the kernels of tier v (nullopt when the CPU lacks it).
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

}  // namespace

// Types whose every kernel rounds exactly as the scalar one (Q8_0: ggml's activation quantizer
// and per-block fma order; f32/f16/bf16: ggml's f32 summation order over exactly converted
// weights) give bit-identical results on every tier below AVX-512 (whose f32 kernels keep
// their own order), on odd shapes. f16/bf16 from their tiled kernel's min_rows on go through the
// fp32 FMA tile (tiled_kernels.h), which sums in element order: only fewer rows are compared.
TEST_P(KernelTiersTest, SimdFamiliesMatchScalarBitForBit) {
  for (TensorType t : {TensorType::kQ8_0, TensorType::kF32, TensorType::kF16, TensorType::kBF16}) {
    const int64_t odd = BlockElements(t) == 1 ? 13 : 0;  // float rows of any length
    for (const Shape& s : std::vector<Shape>{
             {7, 32 * 9, 1}, {301, 32 * 5, 5}, {3, 32, 4}, {5, 32 * 41, 3}, {2, 32 * 2 + odd, 2}}) {
      const bool tiled_f16 = t == TensorType::kF16 || t == TensorType::kBF16;
      if (tiled_f16 && s.m >= Avx2TiledKernel(t).min_rows) continue;
      const std::vector<float> wf = Gaussian(s.n_rows * s.k, 7);
      const std::vector<float> x = Gaussian(s.m * s.k, 8, -0.2f);
      const std::vector<uint8_t> w = QuantizeRows(t, wf, s);
      const auto scalar = ProductsOn(KernelVariant::kScalar, t, s, w, x);
      for (KernelVariant v : kAllKernelVariants) {
        if (v == KernelVariant::kScalar) continue;
        if (FamilyOf(GetParam(), v) != nullptr && t != TensorType::kQ8_0) continue;
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

// The AVX-512 tier without VNNI sums the same integer products as the VNNI one (vpmaddubsw +
// vpmaddwd in place of vpdpbusd), so every type gives bit-identical results on both: also on
// weights and activations at the extremes of their ranges (all |quants| maximal, products all
// of one sign), where a pair sum of vpmaddubsw would saturate if an operand could exceed its
// stated range (Q8_0's biased weights reach 255).
TEST_P(KernelTiersTest, Avx512TiersAgreeBitForBit) {
  if (!CpuSupportsKernelVariant(KernelVariant::kAvx512) ||
      !CpuSupportsKernelVariant(KernelVariant::kAvx512Vnni)) {
    GTEST_SKIP() << "this CPU lacks AVX-512 VNNI";
  }
  int compared = 0;
  for (TensorType t : kAllTensorTypes) {
    if (GetParam().vnni->kernel(t).kernel == nullptr) continue;
    const int64_t b = BlockElements(t) == 256 ? 256 : 32;
    for (const bool extreme : {false, true}) {
      for (const Shape& s : std::vector<Shape>{{5, b * 3, 3}, {3, b, 5}, {17, b * 2, 1}}) {
        std::vector<float> wf = Gaussian(s.n_rows * s.k, 17 + s.k);
        std::vector<float> x = Gaussian(s.m * s.k, 18 + s.m, 0.3f);
        if (extreme) {
          // Weights +-1 (each block's extreme quants); activations 1 with the sign of weight
          // row 0's, so every product of that row is maximal and of one sign.
          for (int64_t j = 0; j < s.n_rows * s.k; ++j) wf[j] = wf[j] < 0 ? -1.0f : 1.0f;
          for (int64_t j = 0; j < s.m * s.k; ++j) x[j] = wf[j % s.k];
          if (s.m > 1) {  // and a row with every product of the other sign
            for (int64_t j = 0; j < s.k; ++j) x[s.k + j] = -wf[j];
          }
        }
        const std::vector<uint8_t> w = QuantizeRows(t, wf, s);
        const auto vnni = ProductsOn(KernelVariant::kAvx512Vnni, t, s, w, x);
        const auto plain = ProductsOn(KernelVariant::kAvx512, t, s, w, x);
        ASSERT_TRUE(vnni && plain);
        EXPECT_EQ(*plain, *vnni) << TensorTypeName(t) << (extreme ? " extreme" : "")
                                 << " n_rows=" << s.n_rows << " k=" << s.k << " m=" << s.m;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 0);
}

void FillWithSentinels(Q8Activations* a) {
  std::fill(a->qs.begin(), a->qs.end(), int8_t{0x55});
  std::fill(a->d.begin(), a->d.end(), -1.5f);
  std::fill(a->corr.begin(), a->corr.end(), 0x5555);
  std::fill(a->sum32.begin(), a->sum32.end(), 0x5555);
  std::fill(a->d8.begin(), a->d8.end(), -1.5f);
  std::fill(a->dsum32.begin(), a->dsum32.end(), -1.5f);
  std::fill(a->sum16.begin(), a->sum16.end(), int16_t{0x5555});
}

void ExpectSameActivations(const Q8Activations& got, const Q8Activations& want) {
  EXPECT_EQ(got.qs, want.qs);
  EXPECT_EQ(got.d, want.d);
  EXPECT_EQ(got.corr, want.corr);
  EXPECT_EQ(got.sum32, want.sum32);
  EXPECT_EQ(got.d8, want.d8);
  EXPECT_EQ(got.dsum32, want.dsum32);
  EXPECT_EQ(got.sum16, want.sum16);
}

// Each AVX-512 build's activation quantizer gives QuantizeActivations' results exactly.
TEST_P(KernelTiersTest, SimdQuantizerMatchesScalar) {
  int checked = 0;
  for (const KernelVariant v : {KernelVariant::kAvx512, KernelVariant::kAvx512Vnni}) {
    if (!CpuSupportsKernelVariant(v)) {
      std::printf("skipped %s: this CPU lacks its features\n", KernelVariantName(v));
      continue;
    }
    const Avx512Family* family = FamilyOf(GetParam(), v);
    for (int block : {32, 256}) {
      for (int64_t m : {1, 3}) {
        const int64_t k = block == 32 ? 32 * 7 : 256 * 3;
        std::vector<float> x = Gaussian(m * k, 5, 0.1f);
        x[3] = 0.5f * 127 / 127;  // exact ties after scaling are rounded the same way
        std::fill(x.begin() + 32, x.begin() + 64, 0.0f);  // an all-zero block
        Q8Activations a, b;
        QuantizeActivations(x.data(), m, k, block, 32, &a);
        // In two row ranges, as MatMul splits them over its pool.
        ResizeActivations(m, k, block, 32, &b);
        FillWithSentinels(&b);  // so an element the ranges leave unwritten shows
        family->quantize_activation_rows(x.data(), 0, m / 2, &b);
        family->quantize_activation_rows(x.data(), m / 2, m, &b);
        SCOPED_TRACE(KernelVariantName(v));
        ExpectSameActivations(b, a);
        ++checked;
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "this CPU lacks AVX-512";
}

}  // namespace baton::engine::kernels
