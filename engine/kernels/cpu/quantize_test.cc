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
      {TensorType::kQ6_K, 2.5e-2},  {TensorType::kQ5_1, 5e-2},    {TensorType::kQ2_K, 0.43},
      {TensorType::kQ3_K, 0.2},     {TensorType::kIQ4_NL, 0.105}, {TensorType::kIQ4_XS, 0.105},
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

TEST(QuantizeTest, Q5_1Layout) {
  BlockQ5_1 b;
  b.d = FloatToFp16(0.5f);
  b.m = FloatToFp16(-3.0f);
  const uint32_t qh = 0x00010002u;  // bit 4 set for elements 1 and 16
  std::memcpy(b.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  DequantizeRow(TensorType::kQ5_1, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * (j + (j == 1 ? 16 : 0)) - 3.0f) << j;
    EXPECT_EQ(y[j + 16], 0.5f * (15 - j + (j == 0 ? 16 : 0)) - 3.0f) << j + 16;
  }
}

TEST(QuantizeTest, IQ4_NLLayout) {
  BlockIQ4_NL b;
  b.d = FloatToFp16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  DequantizeRow(TensorType::kIQ4_NL, &b, y, 32);
  const int grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * grid[j]);
    EXPECT_EQ(y[j + 16], 0.5f * grid[15 - j]);
  }
}

TEST(QuantizeTest, Q2_KLayout) {
  BlockQ2_K b{};
  b.d = FloatToFp16(1.0f);
  b.dmin = FloatToFp16(0.25f);
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<uint8_t>((s % 15 + 1) | ((15 - s) << 4));
  // Element 128h + 32j + l is bits 2j of qs[32h + l].
  b.qs[5] = 0b11100100;       // elements 5 (q 0), 37 (1), 69 (2), 101 (3)
  b.qs[32 + 20] = 0b00000011; // element 128 + 20 (q 3)
  float y[256];
  DequantizeRow(TensorType::kQ2_K, &b, y, 256);
  auto want = [&](int e, int q) {
    const int s = e / 16;
    return 1.0f * (s % 15 + 1) * q - 0.25f * (15 - s);
  };
  EXPECT_EQ(y[5], want(5, 0));
  EXPECT_EQ(y[37], want(37, 1));
  EXPECT_EQ(y[69], want(69, 2));
  EXPECT_EQ(y[101], want(101, 3));
  EXPECT_EQ(y[148], want(148, 3));
  EXPECT_EQ(y[255], want(255, 0));
}

TEST(QuantizeTest, Q3_KLayout) {
  BlockQ3_K b{};
  b.d = FloatToFp16(0.5f);
  // 6-bit scales u[s] (value u - 32): low nibbles in bytes 0-7 (s < 8 low, s >= 8 high), top
  // two bits in bytes 8-11.
  int u[16];
  for (int s = 0; s < 16; ++s) u[s] = (s * 23 + 5) % 64;
  for (int s = 0; s < 16; ++s) {
    b.scales[s % 8] |= static_cast<uint8_t>((u[s] & 0xF) << (4 * (s / 8)));
    b.scales[8 + s % 4] |= static_cast<uint8_t>((u[s] >> 4) << (2 * (s / 4)));
  }
  b.qs[3] = 0b00000010;    // element 3: low bits 2
  b.hmask[3] = 0b00000001; // element 3: high bit (bit 0 of hmask[3]) -> q = 6
  b.qs[32 + 7] = 0b11000000;  // element 128 + 96 + 7 = 231: low bits 3
  b.hmask[7] = 0b10000000;    // element 231 = 32 * 7 + 7: high bit -> q = 7
  float y[256];
  DequantizeRow(TensorType::kQ3_K, &b, y, 256);
  EXPECT_EQ(y[3], 0.5f * (u[0] - 32) * (6 - 4));
  EXPECT_EQ(y[231], 0.5f * (u[14] - 32) * (7 - 4));
  EXPECT_EQ(y[4], 0.5f * (u[0] - 32) * (0 - 4));    // no bits: q = 0
  EXPECT_EQ(y[200], 0.5f * (u[12] - 32) * (0 - 4));
}

TEST(QuantizeTest, IQ4_XSLayout) {
  BlockIQ4_XS b{};
  b.d = FloatToFp16(0.25f);
  int ls[8];
  for (int s = 0; s < 8; ++s) {
    ls[s] = (s * 19 + 3) % 64;
    b.scales_l[s / 2] |= static_cast<uint8_t>((ls[s] & 0xF) << (4 * (s % 2)));
    b.scales_h |= static_cast<uint16_t>((ls[s] >> 4) << (2 * s));
  }
  for (int j = 0; j < 128; ++j) b.qs[j] = static_cast<uint8_t>((j % 16) | ((j * 7 % 16) << 4));
  float y[256];
  DequantizeRow(TensorType::kIQ4_XS, &b, y, 256);
  for (int s = 0; s < 8; ++s) {
    for (int l = 0; l < 16; ++l) {
      const int j = 16 * s + l;
      EXPECT_EQ(y[32 * s + l], 0.25f * (ls[s] - 32) * kIq4NlValues[j % 16]) << s << " " << l;
      EXPECT_EQ(y[32 * s + 16 + l], 0.25f * (ls[s] - 32) * kIq4NlValues[j * 7 % 16]);
    }
  }
}

// Quantizing values already on a type's grid must give them back exactly: checks that each
// quantizer packs bits where its dequantizer reads them.
TEST(QuantizeTest, GridValuesSurviveEveryType) {
  for (TensorType t : kAllTensorTypes) {
    const int64_t n = 512;
    const std::vector<float> x = Gaussian(n, 3);
    std::vector<uint8_t> q(RowBytes(t, n));
    std::vector<float> once(n), twice(n);
    QuantizeRow(t, x.data(), q.data(), n);
    DequantizeRow(t, q.data(), once.data(), n);
    QuantizeRow(t, once.data(), q.data(), n);
    DequantizeRow(t, q.data(), twice.data(), n);
    double err = 0, sig = 0;
    for (int64_t i = 0; i < n; ++i) {
      err += (twice[i] - once[i]) * (twice[i] - once[i]);
      sig += once[i] * once[i];
    }
    // Re-derived scales can move by an fp16 rounding, so allow a little drift.
    EXPECT_LE(std::sqrt(err / sig), 0.02) << TensorTypeName(t);
  }
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
