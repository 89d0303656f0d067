#include "engine/kernels/cpu/quantize.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "engine/gguf/gguf_file.h"
#include "engine/kernels/cpu/block_formats.h"
#include "engine/tensor/fp16.h"
#include "gtest/gtest.h"

namespace baton::engine::kernels {
namespace {

std::vector<float> Gaussian(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

// Root-mean-square error of quantize -> dequantize relative to the signal's RMS.
double RelativeRmsError(TensorType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(RowBytes(t, x.size()));
  std::vector<float> back(x.size());
  QuantizeRow(t, x.data(), q.data(), x.size());
  DequantizeRow(t, q.data(), back.data(), x.size());
  double err = 0, sig = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err += (back[i] - x[i]) * (back[i] - x[i]);
    sig += x[i] * x[i];
  }
  return std::sqrt(err / sig);
}

TEST(QuantizeTest, RoundTripErrorWithinPerTypeBounds) {
  // Bounds sit ~1.3x above what each format's step size implies for N(0,1) data.
  const struct {
    TensorType type;
    double max_rel_rms;
  } cases[] = {
      {TensorType::kF32, 0.0},     {TensorType::kF16, 4e-4},    {TensorType::kBF16, 3e-3},
      {TensorType::kQ8_0, 7e-3},   {TensorType::kQ5_0, 5e-2},   {TensorType::kQ4_0, 1e-1},
      {TensorType::kQ4_1, 1e-1},   {TensorType::kQ4_K, 1.1e-1}, {TensorType::kQ5_K, 5.5e-2},
      {TensorType::kQ6_K, 2.5e-2},
  };
  const std::vector<float> x = Gaussian(256 * 5, 7);
  for (const auto& c : cases) {
    const double err = RelativeRmsError(c.type, x);
    EXPECT_LE(err, c.max_rel_rms) << TensorTypeName(c.type);
    std::printf("%-5s relative RMS error %.5f\n", std::string(TensorTypeName(c.type)).c_str(), err);
  }
}

TEST(QuantizeTest, ZerosAndConstantsSurvive) {
  for (TensorType t : kAllTensorTypes) {
    std::vector<float> zeros(256, 0.0f);
    std::vector<uint8_t> q(RowBytes(t, 256));
    std::vector<float> back(256, 1.0f);
    QuantizeRow(t, zeros.data(), q.data(), 256);
    DequantizeRow(t, q.data(), back.data(), 256);
    for (float v : back) ASSERT_EQ(v, 0.0f) << TensorTypeName(t);
  }
}

// Hand-built blocks pin the bit layout to ggml's: a wrong nibble order or scale packing fails.
TEST(QuantizeTest, Q4_0Layout) {
  BlockQ4_0 b;
  b.d = FloatToFp16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  DequantizeRow(TensorType::kQ4_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * (j - 8));
    EXPECT_EQ(y[j + 16], 0.5f * (7 - j));
  }
}

TEST(QuantizeTest, Q4_1Layout) {
  BlockQ4_1 b;
  b.d = FloatToFp16(2.0f);
  b.m = FloatToFp16(-1.0f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | (3 << 4));
  float y[32];
  DequantizeRow(TensorType::kQ4_1, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2.0f * j - 1.0f);
    EXPECT_EQ(y[j + 16], 5.0f);
  }
}

TEST(QuantizeTest, Q5_0Layout) {
  BlockQ5_0 b;
  b.d = FloatToFp16(1.0f);
  const uint32_t qh = 0x80000001u;  // high bit set for elements 0 and 31
  std::memcpy(b.qh, &qh, 4);
  std::memset(b.qs, 0x21, 16);  // low nibble 1 (elements 0..15), high nibble 2 (16..31)
  float y[32];
  DequantizeRow(TensorType::kQ5_0, &b, y, 32);
  EXPECT_EQ(y[0], 17 - 16);
  EXPECT_EQ(y[1], 1 - 16);
  EXPECT_EQ(y[16], 2 - 16);
  EXPECT_EQ(y[31], 18 - 16);
}

TEST(QuantizeTest, Q8_0Layout) {
  BlockQ8_0 b;
  b.d = FloatToFp16(0.25f);
  for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(j - 16);
  float y[32];
  DequantizeRow(TensorType::kQ8_0, &b, y, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.25f * (j - 16));
}

TEST(QuantizeTest, Q4_KLayout) {
  BlockQ4_K b;
  b.d = FloatToFp16(1.0f);
  b.dmin = FloatToFp16(0.5f);
  // Sub-block s gets scale s + 1 and min 2s; sub-blocks 4..7 need the high-bit packing.
  const int sc[8] = {1, 2, 3, 4, 37, 46, 55, 63};
  const int mn[8] = {0, 2, 4, 6, 40, 50, 60, 17};
  for (int j = 0; j < 4; ++j) {
    b.scales[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    b.scales[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    b.scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
  }
  for (int l = 0; l < 128; ++l) b.qs[l] = static_cast<uint8_t>((l % 16) | ((15 - l % 16) << 4));
  float y[256];
  DequantizeRow(TensorType::kQ4_K, &b, y, 256);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int q_lo = (32 * c + l) % 16, q_hi = 15 - q_lo;
      EXPECT_EQ(y[64 * c + l], 1.0f * sc[2 * c] * q_lo - 0.5f * mn[2 * c]) << c << " " << l;
      EXPECT_EQ(y[64 * c + 32 + l], 1.0f * sc[2 * c + 1] * q_hi - 0.5f * mn[2 * c + 1]);
    }
  }
}

TEST(QuantizeTest, Q5_KLayout) {
  BlockQ5_K b{};
  b.d = FloatToFp16(1.0f);
  b.dmin = FloatToFp16(0.0f);
  for (int j = 0; j < 4; ++j) b.scales[j] = 1;                 // sc 0..3 = 1
  for (int j = 8; j < 12; ++j) b.scales[j] = 1;                // sc 4..7 = 1
  std::memset(b.qs, 0x00, sizeof(b.qs));
  b.qh[3] = 0x05;  // bit 0 -> element 3 gets +16, bit 2 -> element 64 + 3
  float y[256];
  DequantizeRow(TensorType::kQ5_K, &b, y, 256);
  for (int e = 0; e < 256; ++e) {
    EXPECT_EQ(y[e], (e == 3 || e == 67) ? 16.0f : 0.0f) << e;
  }
}

TEST(QuantizeTest, Q6_KLayout) {
  BlockQ6_K b{};
  b.d = FloatToFp16(1.0f);
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(s + 1);
  std::memset(b.ql, 0, sizeof(b.ql));
  std::memset(b.qh, 0xAA, sizeof(b.qh));  // every 2-bit field = 2 -> q = 32 -> value 0
  b.ql[5] = 0x31;     // element 5: q low 1 -> 33; element 64 + 5: low 3 -> 35
  b.ql[64 + 40] = 0x02;  // second half, ql[l + 32] with l = 8: element 128 + 40
  b.qh[32 + 8] = 0x2B;   // l = 8: bits 0-1 = 3 (elem 128+8), bits 2-3 = 2 (elem 128+40)
  float y[256];
  DequantizeRow(TensorType::kQ6_K, &b, y, 256);
  EXPECT_EQ(y[5], 1.0f * 1 * (33 - 32));        // sub-block 0
  EXPECT_EQ(y[69], 5.0f * (35 - 32));           // element 64 + 5 -> sub-block 4
  EXPECT_EQ(y[128 + 8], 9.0f * (48 - 32));      // q = 0 | 3 << 4, sub-block 8
  EXPECT_EQ(y[128 + 40], 11.0f * (34 - 32));    // q = 2 | 2 << 4, sub-block 10
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[255], 0.0f);
}

// stories260K-Q8_0.gguf holds ggml-quantized copies of stories260K.gguf's f32 weights: our
// dequantization of the real Q8_0 data must reproduce the f32 originals to Q8_0 precision.
TEST(QuantizeTest, DequantizesRealQ8_0File) {
  auto f32_path = baton::testing::SharedFile("models/stories260K.gguf");
  auto q8_path = baton::testing::SharedFile("models/stories260K-Q8_0.gguf");
  if (!f32_path || !q8_path) GTEST_SKIP() << "../shared not present (set BATON_SHARED_DIR)";
  ASSERT_OK_AND_ASSIGN(auto f32, gguf::GgufFile::Open(*f32_path));
  ASSERT_OK_AND_ASSIGN(auto q8, gguf::GgufFile::Open(*q8_path));
  int checked = 0;
  for (const gguf::TensorInfo& t : q8->tensors()) {
    if (t.type != TensorType::kQ8_0) continue;
    const gguf::TensorInfo* ref = f32->FindTensor(t.name);
    ASSERT_NE(ref, nullptr) << t.name;
    ASSERT_EQ(ref->type, TensorType::kF32);
    ASSERT_EQ(ref->num_elements(), t.num_elements());
    std::vector<float> back(t.num_elements());
    DequantizeRow(TensorType::kQ8_0, t.data, back.data(), t.num_elements());
    const float* want = reinterpret_cast<const float*>(ref->data);
    for (int64_t b = 0; b < t.num_elements() / 32; ++b) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(want[32 * b + j]));
      for (int j = 0; j < 32; ++j) {
        ASSERT_NEAR(back[32 * b + j], want[32 * b + j], amax / 127 * 0.57 + 1e-6)  // half a step + fp16 scale rounding
            << t.name << " element " << 32 * b + j;
      }
    }
    // Our quantizer produces the same bytes as the file's (ggml's rounding is the same).
    std::vector<uint8_t> requant(t.size_bytes);
    QuantizeRow(TensorType::kQ8_0, want, requant.data(), t.num_elements());
    int64_t diff = 0;
    for (size_t i = 0; i < t.size_bytes; ++i) diff += requant[i] != t.data[i];
    EXPECT_LE(diff, static_cast<int64_t>(t.size_bytes / 1000)) << t.name;
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace baton::engine::kernels
