#include "engine/model/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "engine/model/attention_avx512.h"
#include "engine/tensor/fp16.h"
#include "gtest/gtest.h"

namespace baton::engine::ops {
namespace {

std::vector<float> Random(int64_t n, int seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(gen);
  return v;
}

TEST(OpsTest, DotAndAxpyOddLengths) {
  for (int64_t n : {1, 7, 8, 15, 16, 17, 33, 100}) {
    auto a = Random(n, 1);
    auto b = Random(n, 2);
    double want = 0;
    for (int64_t i = 0; i < n; ++i) want += static_cast<double>(a[i]) * b[i];
    EXPECT_NEAR(Dot(a.data(), b.data(), n), want, 1e-4) << n;
    std::vector<float> y = b;
    Axpy(0.5f, a.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) EXPECT_FLOAT_EQ(y[i], b[i] + 0.5f * a[i]);
  }
}

TEST(OpsTest, RmsNorm) {
  std::vector<float> x = {1, 2, 3, 4, 5};
  std::vector<float> w = {1, 1, 2, 1, 0.5f};
  std::vector<float> out(5);
  RmsNorm(x.data(), w.data(), 5, 1e-5f, out.data());
  const float rms = std::sqrt((1 + 4 + 9 + 16 + 25) / 5.0f + 1e-5f);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(out[i], x[i] / rms * w[i], 1e-6);
}

TEST(OpsTest, RopeNormalAndNeoxPairs) {
  const int32_t hd = 8;
  const int64_t pos = 3;
  const float base = 10000.0f;
  auto x = Random(2 * hd, 3);
  for (bool neox : {false, true}) {
    std::vector<float> y = x;
    const float factors[] = {1.0f, 2.0f, 1.0f, 4.0f};
    Rope(y.data(), 2, hd, pos,
         {.rope_dim = hd, .base = base, .freq_scale = 0.5f, .freq_factors = factors, .neox = neox});
    for (int h = 0; h < 2; ++h) {
      for (int i = 0; i < hd / 2; ++i) {
        const int a = h * hd + (neox ? i : 2 * i);
        const int b = h * hd + (neox ? i + hd / 2 : 2 * i + 1);
        const float theta = pos * 0.5f * std::pow(base, -2.0f * i / hd) / factors[i];
        EXPECT_NEAR(y[a], x[a] * std::cos(theta) - x[b] * std::sin(theta), 1e-5);
        EXPECT_NEAR(y[b], x[a] * std::sin(theta) + x[b] * std::cos(theta), 1e-5);
      }
    }
  }
  // Partial rotary: dims past rope_dim are untouched.
  std::vector<float> y = x;
  Rope(y.data(), 1, hd, pos, {.rope_dim = 4, .base = base});
  for (int i = 4; i < hd; ++i) EXPECT_EQ(y[i], x[i]);
}

// YaRN: pairs below the correction range keep the original angle, pairs above it are
// interpolated, the band between blends linearly, and cos/sin carry the magnitude correction.
TEST(OpsTest, RopeYarnBlendsInterpolationAndExtrapolation) {
  const int32_t hd = 32;
  const int64_t pos = 100;
  const float base = 10000.0f;
  const float scale = 0.25f;
  float low = 0, high = 0;
  YarnCorrectionRange(hd, 64, base, 32.0f, 1.0f, &low, &high);
  // orig 64, beta_fast 32: 32 * log(64 / (32 * 2pi)) / (2 log 1e4) < 0, so low clamps to 0;
  // beta_slow 1: 32 * log(64 / 2pi) / (2 log 1e4) = 4.03 -> 5.
  EXPECT_EQ(low, 0.0f);
  EXPECT_EQ(high, 5.0f);
  auto x = Random(hd, 9);
  std::vector<float> y = x;
  Rope(y.data(), 1, hd, pos,
       {.rope_dim = hd, .base = base, .freq_scale = scale, .neox = true, .ext_factor = 1.0f,
        .attn_factor = 1.0f, .corr_low = low, .corr_high = high});
  const double mscale = 1.0 + 0.1 * std::log(1.0 / scale);
  for (int i = 0; i < hd / 2; ++i) {
    const double extrap = pos * std::pow(base, -2.0 * i / hd);
    const double ramp = 1.0 - std::min(1.0, std::max(0.0, (i - low) / static_cast<double>(high - low)));
    const double theta = extrap * scale * (1 - ramp) + extrap * ramp;
    const double c = std::cos(theta) * mscale, s = std::sin(theta) * mscale;
    EXPECT_NEAR(y[i], x[i] * c - x[i + hd / 2] * s, 2e-3) << i;
    EXPECT_NEAR(y[i + hd / 2], x[i] * s + x[i + hd / 2] * c, 2e-3) << i;
  }
}

// SiLU and softmax take e^x from an 8-lane polynomial: within a few float ulps of the exact
// values over the whole range activations reach, in the vector body and the scalar tail alike.
TEST(OpsTest, SiluAndSoftmaxAreAccurateOverTheRange) {
  std::vector<float> g, u;
  for (float v = -100.0f; v <= 100.0f; v += 0.0371f) g.push_back(v);
  u.assign(g.size(), 1.5f);
  const std::vector<float> g0 = g;
  SiluMul(g.data(), u.data(), static_cast<int64_t>(g.size()));
  for (size_t i = 0; i < g.size(); ++i) {
    const double x = g0[i];
    const double want = x / (1.0 + std::exp(-x)) * 1.5;
    ASSERT_NEAR(g[i], want, std::fabs(want) * 1e-6 + 1e-30) << "x=" << x;
  }
  for (int64_t n : {1, 7, 8, 37, 300}) {
    std::vector<float> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = std::sin(0.7f * i) * 30.0f - 0.01f * i;
    const std::vector<float> v0 = v;
    Softmax(v.data(), n);
    const double max = *std::max_element(v0.begin(), v0.end());
    double z = 0;
    for (float x : v0) z += std::exp(x - max);
    for (int64_t i = 0; i < n; ++i) {
      const double want = std::exp(v0[i] - max) / z;
      // x - max is rounded to float first: an error of |x - max| * 2^-24 relative comes in.
      const double rel = 2e-6 + std::fabs(v0[i] - max) * 6e-8;
      ASSERT_NEAR(v[i], want, want * rel + 1e-38) << "n=" << n << " i=" << i;
    }
  }
}

TEST(OpsTest, SoftmaxAndSilu) {
  std::vector<float> v = {1, 2, 3};
  Softmax(v.data(), 3);
  const float z = std::exp(1.f) + std::exp(2.f) + std::exp(3.f);
  EXPECT_NEAR(v[2], std::exp(3.f) / z, 1e-6);
  std::vector<float> g = {-1, 0, 2};
  std::vector<float> u = {2, 3, 0.5f};
  SiluMul(g.data(), u.data(), 3);
  EXPECT_NEAR(g[0], -1 / (1 + std::exp(1.f)) * 2, 1e-6);
  EXPECT_EQ(g[1], 0);
  EXPECT_NEAR(g[2], 2 / (1 + std::exp(-2.f)) * 0.5f, 1e-6);
  std::vector<float> ge = {-1, 0, 2};
  GeluMul(ge.data(), u.data(), 3);
  auto gelu = [](double v) {
    return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
  };
  // Within f16 rounding of the exact GELU, and exactly the f16 table value.
  EXPECT_NEAR(ge[0], gelu(-1) * 2, 2e-3);
  EXPECT_EQ(ge[1], 0);
  EXPECT_NEAR(ge[2], gelu(2) * 0.5, 2e-3);
  EXPECT_EQ(Gelu(0.3f), Fp16ToFloat(FloatToFp16(static_cast<float>(
                            gelu(Fp16ToFloat(FloatToFp16(0.3f)))))));
  EXPECT_EQ(Gelu(-12.0f), 0.0f);
  EXPECT_EQ(Gelu(11.0f), 11.0f);
  std::vector<float> c = {-100, 0, 3};
  SoftCap(c.data(), 3, 30.0f);
  EXPECT_NEAR(c[0], -30 * std::tanh(100.0 / 30), 1e-5);
  EXPECT_EQ(c[1], 0);
  EXPECT_NEAR(c[2], 30 * std::tanh(0.1), 1e-5);
}

TEST(OpsTest, KvRowsRoundTrip) {
  auto x = Random(13, 4);
  std::vector<uint16_t> h(13);
  std::vector<float> back(13);
  StoreKvRow(x.data(), 13, KvDType::kF16, h.data());
  LoadKvRow(h.data(), 13, KvDType::kF16, back.data());
  for (int i = 0; i < 13; ++i) EXPECT_EQ(back[i], Fp16ToFloat(FloatToFp16(x[i])));
  std::vector<float> f(13);
  StoreKvRow(x.data(), 13, KvDType::kF32, f.data());
  LoadKvRow(f.data(), 13, KvDType::kF32, back.data());
  EXPECT_EQ(back, x);
}

// The attention inner loops against the Dot and Axpy calls they replace, bit for bit, at head
// sizes on and off their fast paths.
TEST(OpsTest, QueryScoresAndWeightedSumEqualDotAndAxpy) {
  for (int32_t hd : {12, 64, 72, 128, 136}) {
    SCOPED_TRACE(hd);
    const int64_t n = 37;
    const auto q = Random(hd, 1), keys = Random(n * hd, 2), values = Random(n * hd, 3);
    std::vector<float> want(n), got(n);
    for (int64_t t = 0; t < n; ++t) want[t] = Dot(q.data(), &keys[t * hd], hd) * 0.125f;
    QueryScores(q.data(), keys.data(), n, hd, 0.125f, got.data());
    EXPECT_EQ(std::memcmp(want.data(), got.data(), n * sizeof(float)), 0);
    std::vector<float> sum_want(hd, 0.0f), sum_got(hd, NAN);
    for (int64_t t = 0; t < n; ++t) Axpy(want[t], &values[t * hd], sum_want.data(), hd);
    WeightedSum(want.data(), values.data(), n, hd, sum_got.data());
    EXPECT_EQ(std::memcmp(sum_want.data(), sum_got.data(), hd * sizeof(float)), 0);
  }
}

// AttendGroup over a scattered block table against plain causal GQA attention, with and
// without a soft cap and a sliding window.
TEST(OpsTest, AttendGroupMatchesNaiveAttention) {
  for (KvDType dtype : {KvDType::kF32, KvDType::kF16})
  for (const AttentionParams params : {AttentionParams{.scale = 0.3f},
                                       AttentionParams{.scale = 0.3f, .softcap = 0.5f, .window = 4}}) {
    SCOPED_TRACE(params.window);
    KvLayout layout{.num_layers = 2, .num_kv_heads = 2, .head_dim = 12, .block_size_tokens = 3,
                    .dtype = dtype};
    const int32_t pool_blocks = 6;
    const int32_t group = 3;  // 6 query heads
    const int32_t n_heads = layout.num_kv_heads * group;
    const int32_t hd = layout.head_dim;
    const int64_t n_ctx = 7;  // 5 cached + 2 new rows
    const int64_t first = 5;
    std::vector<uint8_t> pool(layout.PoolBytes(pool_blocks));
    const std::vector<int32_t> table = {4, 0, 2};
    auto keys = Random(n_ctx * layout.num_kv_heads * hd, 5);
    auto values = Random(n_ctx * layout.num_kv_heads * hd, 6);
    const int32_t layer = 1;
    const size_t elem = KvDTypeBytes(dtype);
    for (int64_t t = 0; t < n_ctx; ++t) {
      for (int32_t g = 0; g < layout.num_kv_heads; ++g) {
        uint8_t* slab = pool.data() + layout.Offset(layer, table[t / 3], pool_blocks);
        const size_t off = (static_cast<size_t>(g) * 3 + t % 3) * hd * elem;
        StoreKvRow(&keys[(t * layout.num_kv_heads + g) * hd], hd, dtype, slab + off);
        StoreKvRow(&values[(t * layout.num_kv_heads + g) * hd], hd, dtype,
                   slab + layout.HalfSlabBytes() + off);
      }
    }
    auto q = Random(2 * n_heads * hd, 7);
    std::vector<float> out(2 * n_heads * hd, 0.0f);
    std::vector<float> scratch(2 * n_ctx * hd + n_ctx);
    PagedKvView view{pool.data(), layout, pool_blocks, table, layer};
    for (int32_t g = 0; g < layout.num_kv_heads; ++g) {
      AttendGroup(view, g, group, q.data(), n_heads * hd, 2, first, params, out.data(),
                  n_heads * hd, scratch.data());
    }
    const float tol = dtype == KvDType::kF32 ? 1e-5f : 5e-3f;
    for (int r = 0; r < 2; ++r) {
      for (int h = 0; h < n_heads; ++h) {
        const int g = h / group;
        const float* qh = &q[(r * n_heads + h) * hd];
        std::vector<double> p(first + r + 1);
        double z = 0, mx = -1e30;
        for (int64_t t = 0; t <= first + r; ++t) {
          double s = 0;
          for (int d = 0; d < hd; ++d) s += qh[d] * keys[(t * layout.num_kv_heads + g) * hd + d];
          p[t] = s * params.scale;
          if (params.softcap > 0) p[t] = params.softcap * std::tanh(p[t] / params.softcap);
          mx = std::max(mx, p[t]);
        }
        for (int64_t t = 0; t <= first + r; ++t) {
          const bool seen = params.window == 0 || first + r - t < params.window;
          z += (p[t] = seen ? std::exp(p[t] - mx) : 0.0);
        }
        for (int d = 0; d < hd; ++d) {
          double want = 0;
          for (int64_t t = 0; t <= first + r; ++t) {
            want += p[t] / z * values[(t * layout.num_kv_heads + g) * hd + d];
          }
          EXPECT_NEAR(out[(r * n_heads + h) * hd + d], want, tol) << r << " " << h << " " << d;
        }
      }
    }
  }
}

// AttendGroup's AVX-512 path (f16 cache, 64-wide heads) against its portable one, bit for bit:
// group sizes below, at and above the 4 heads a pass takes, blocks of 16 and of 5 positions (runs
// that start mid-block), decode rows and prompt rows, with and without a soft cap and a window.
TEST(OpsTest, AttendGroupAvx512PathIsBitIdenticalToPortable) {
  if (!CpuHasAvx512Attention()) GTEST_SKIP() << "this CPU lacks AVX-512 F";
  struct Case {
    int32_t bs, group;
    AttentionParams params;
    int64_t n_rows, first;
  };
  std::vector<Case> cases;
  for (int32_t bs : {16, 5}) {
    for (int32_t group : {1, 3, 4, 6}) {
      for (const AttentionParams params :
           {AttentionParams{.scale = 0.125f},
            AttentionParams{.scale = 0.2f, .softcap = 3.0f, .window = 9}}) {
        for (const auto& [n_rows, first] :
             {std::pair<int64_t, int64_t>{1, 0}, {1, 40}, {7, 33}, {20, 0}}) {
          cases.push_back({bs, group, params, n_rows, first});
        }
      }
    }
  }
  for (const auto& [bs, group, params, n_rows, first] : cases) {
    SCOPED_TRACE(testing::Message() << "bs " << bs << " group " << group << " window "
                                    << params.window << " rows " << n_rows << " first " << first);
    KvLayout layout{.num_layers = 1, .num_kv_heads = 2, .head_dim = 64, .block_size_tokens = bs,
                    .dtype = KvDType::kF16};
    const int64_t n_ctx = first + n_rows;
    const int32_t n_blocks = static_cast<int32_t>(layout.BlocksFor(n_ctx));
    const int32_t pool_blocks = n_blocks + 3;
    // Blocks in reverse order, past a few unused ones.
    std::vector<int32_t> table(n_blocks);
    for (int32_t b = 0; b < n_blocks; ++b) table[b] = pool_blocks - 1 - b;
    std::vector<uint8_t> pool(layout.PoolBytes(pool_blocks));
    const auto kv = Random(n_ctx * layout.num_kv_heads * 128, 11);  // K then V per (t, head)
    PagedKvView view{pool.data(), layout, pool_blocks, table, 0};
    for (int64_t t = 0; t < n_ctx; ++t) {
      for (int32_t h = 0; h < layout.num_kv_heads; ++h) {
        const float* src = &kv[(t * layout.num_kv_heads + h) * 128];
        StoreKvRow(src, 64, KvDType::kF16, const_cast<uint8_t*>(view.Key(h, t)));
        StoreKvRow(src + 64, 64, KvDType::kF16, const_cast<uint8_t*>(view.Value(h, t)));
      }
    }
    const int64_t width = static_cast<int64_t>(layout.num_kv_heads) * group * 64;
    const auto q = Random(n_rows * width, 12);
    std::vector<float> scratch(2 * n_ctx * 64 + n_ctx);
    std::vector<float> want(n_rows * width, NAN), got(n_rows * width, NAN);
    for (const bool avx512 : {false, true}) {
      AllowAvx512Attention(avx512);
      for (int32_t h = 0; h < layout.num_kv_heads; ++h) {
        AttendGroup(view, h, group, q.data(), width, n_rows, first, params,
                    (avx512 ? got : want).data(), width, scratch.data());
      }
    }
    AllowAvx512Attention(true);
    EXPECT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0);
  }
}

}  // namespace
}  // namespace baton::engine::ops
