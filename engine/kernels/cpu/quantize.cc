#include "engine/kernels/cpu/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/logging.h"
#include "engine/kernels/cpu/block_formats.h"
#include "engine/tensor/fp16.h"

namespace baton::engine::kernels {
namespace {

// The element with the largest magnitude, keeping its sign (the *_0 types map it to -2^(b-1) so
// the full negative range is used).
float SignedAbsMax(const float* x, int n) {
  float best = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > std::fabs(best)) best = x[i];
  }
  return best;
}

float Inverse(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

int Clamp(int v, int lo, int hi) { return std::min(hi, std::max(lo, v)); }

void QuantizeQ4_0(const float* x, BlockQ4_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQk) {
    const float d = SignedAbsMax(x, kQk) / -8.0f;
    const float id = Inverse(d);
    b[i].d = FloatToFp16(d);
    for (int j = 0; j < kQk / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>(x[j] * id + 8.5f));
      const int q1 = std::min(15, static_cast<int>(x[j + kQk / 2] * id + 8.5f));
      b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void DequantizeQ4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQk) {
    const float d = Fp16ToFloat(b[i].d);
    for (int j = 0; j < kQk / 2; ++j) {
      y[j] = d * ((b[i].qs[j] & 0xF) - 8);
      y[j + kQk / 2] = d * ((b[i].qs[j] >> 4) - 8);
    }
  }
}

void QuantizeQ4_1(const float* x, BlockQ4_1* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQk) {
    const float lo = *std::min_element(x, x + kQk);
    const float hi = *std::max_element(x, x + kQk);
    const float d = (hi - lo) / 15.0f;
    const float id = Inverse(d);
    b[i].d = FloatToFp16(d);
    b[i].m = FloatToFp16(lo);
    for (int j = 0; j < kQk / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>((x[j] - lo) * id + 0.5f));
      const int q1 = std::min(15, static_cast<int>((x[j + kQk / 2] - lo) * id + 0.5f));
      b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void DequantizeQ4_1(const BlockQ4_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQk) {
    const float d = Fp16ToFloat(b[i].d);
    const float m = Fp16ToFloat(b[i].m);
    for (int j = 0; j < kQk / 2; ++j) {
      y[j] = d * (b[i].qs[j] & 0xF) + m;
      y[j + kQk / 2] = d * (b[i].qs[j] >> 4) + m;
    }
  }
}

void QuantizeQ5_0(const float* x, BlockQ5_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQk) {
    const float d = SignedAbsMax(x, kQk) / -16.0f;
    const float id = Inverse(d);
    b[i].d = FloatToFp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQk / 2; ++j) {
      const int q0 = std::min(31, static_cast<int>(x[j] * id + 16.5f));
      const int q1 = std::min(31, static_cast<int>(x[j + kQk / 2] * id + 16.5f));
      b[i].qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
      qh |= static_cast<uint32_t>(q0 >> 4) << j;
      qh |= static_cast<uint32_t>(q1 >> 4) << (j + kQk / 2);
    }
    std::memcpy(b[i].qh, &qh, sizeof(qh));
  }
}

void DequantizeQ5_0(const BlockQ5_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQk) {
    const float d = Fp16ToFloat(b[i].d);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, sizeof(qh));
    for (int j = 0; j < kQk / 2; ++j) {
      const int hi0 = ((qh >> j) & 1) << 4;
      const int hi1 = ((qh >> (j + kQk / 2)) & 1) << 4;
      y[j] = d * (((b[i].qs[j] & 0xF) | hi0) - 16);
      y[j + kQk / 2] = d * (((b[i].qs[j] >> 4) | hi1) - 16);
    }
  }
}

void QuantizeQ8_0(const float* x, BlockQ8_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQk) {
    float amax = 0.0f;
    for (int j = 0; j < kQk; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = Inverse(d);
    b[i].d = FloatToFp16(d);
    for (int j = 0; j < kQk; ++j) b[i].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
  }
}

void DequantizeQ8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQk) {
    const float d = Fp16ToFloat(b[i].d);
    for (int j = 0; j < kQk; ++j) y[j] = d * b[i].qs[j];
  }
}

// Scales and mins of the 8 sub-blocks of a Q4_K/Q5_K super-block: each sub-block is mapped
// affinely onto [0, qmax] with min clamped to <= 0, then scale and -min are quantized to 6 bits
// against the super-block's d and dmin. Writes d, dmin, packed scales; returns the effective
// per-sub-block scale and offset through `eff_d`/`eff_m` (x ~ eff_d * q - eff_m).
void QuantizeScalesK(const float* x, int qmax, uint16_t* d_out, uint16_t* dmin_out,
                     uint8_t* scales, float* eff_d, float* eff_m) {
  float sub_scale[8], sub_min[8];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int s = 0; s < 8; ++s) {
    const float* xs = x + 32 * s;
    const float lo = std::min(0.0f, *std::min_element(xs, xs + 32));
    const float hi = *std::max_element(xs, xs + 32);
    sub_scale[s] = (hi - lo) / qmax;
    sub_min[s] = -lo;
    max_scale = std::max(max_scale, sub_scale[s]);
    max_min = std::max(max_min, sub_min[s]);
  }
  const float d = max_scale / 63.0f;
  const float dmin = max_min / 63.0f;
  *d_out = FloatToFp16(d);
  *dmin_out = FloatToFp16(dmin);
  const float d16 = Fp16ToFloat(*d_out);
  const float dmin16 = Fp16ToFloat(*dmin_out);
  uint8_t sc[8], mn[8];
  for (int s = 0; s < 8; ++s) {
    sc[s] = static_cast<uint8_t>(Clamp(static_cast<int>(std::lrintf(sub_scale[s] * Inverse(d16))), 0, 63));
    mn[s] = static_cast<uint8_t>(Clamp(static_cast<int>(std::lrintf(sub_min[s] * Inverse(dmin16))), 0, 63));
    eff_d[s] = d16 * sc[s];
    eff_m[s] = dmin16 * mn[s];
  }
  for (int j = 0; j < 4; ++j) {
    scales[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    scales[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
  }
}

// Quantized value of x for a sub-block with effective scale/offset, clamped to [0, qmax].
int QuantizeAffine(float x, float eff_d, float eff_m, int qmax) {
  if (eff_d == 0.0f) return 0;
  return Clamp(static_cast<int>(std::lrintf((x + eff_m) / eff_d)), 0, qmax);
}

// Q4_K and Q5_K share scales and nibble order; Q5_K adds a fifth bit per quant in qh.
template <typename Block, bool kFiveBit>
void QuantizeK4(const float* x, Block* b, int64_t nb) {
  constexpr int kMax = kFiveBit ? 31 : 15;
  for (int64_t i = 0; i < nb; ++i, x += kQkK) {
    float eff_d[8], eff_m[8];
    QuantizeScalesK(x, kMax, &b[i].d, &b[i].dmin, b[i].scales, eff_d, eff_m);
    if constexpr (kFiveBit) std::memset(b[i].qh, 0, sizeof(b[i].qh));
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = QuantizeAffine(x[64 * c + l], eff_d[2 * c], eff_m[2 * c], kMax);
        const int hi = QuantizeAffine(x[64 * c + 32 + l], eff_d[2 * c + 1], eff_m[2 * c + 1], kMax);
        b[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
        if constexpr (kFiveBit) {
          b[i].qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
        }
      }
    }
  }
}

template <typename Block, bool kFiveBit>
void DequantizeK4(const Block* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQkK) {
    const float d = Fp16ToFloat(b[i].d);
    const float dmin = Fp16ToFloat(b[i].dmin);
    for (int c = 0; c < 4; ++c) {
      uint8_t sc0, mn0, sc1, mn1;
      UnpackScaleMinK4(b[i].scales, 2 * c, &sc0, &mn0);
      UnpackScaleMinK4(b[i].scales, 2 * c + 1, &sc1, &mn1);
      const float d0 = d * sc0, m0 = dmin * mn0, d1 = d * sc1, m1 = dmin * mn1;
      const uint8_t* q = b[i].qs + 32 * c;
      for (int l = 0; l < 32; ++l) {
        int h0 = 0, h1 = 0;
        if constexpr (kFiveBit) {
          h0 = ((b[i].qh[l] >> (2 * c)) & 1) << 4;
          h1 = ((b[i].qh[l] >> (2 * c + 1)) & 1) << 4;
        }
        y[64 * c + l] = d0 * ((q[l] & 0xF) | h0) - m0;
        y[64 * c + 32 + l] = d1 * ((q[l] >> 4) | h1) - m1;
      }
    }
  }
}

void QuantizeQ6_K(const float* x, BlockQ6_K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQkK) {
    // Sub-block scales map the signed abs max to -32; the super scale maps the largest of
    // those to -128 so the int8 scales use their full range.
    float sub_scale[16];
    float widest = 0.0f;
    for (int s = 0; s < 16; ++s) {
      sub_scale[s] = SignedAbsMax(x + 16 * s, 16) / -32.0f;
      if (std::fabs(sub_scale[s]) > std::fabs(widest)) widest = sub_scale[s];
    }
    const float d = widest / -128.0f;
    b[i].d = FloatToFp16(d);
    const float d16 = Fp16ToFloat(b[i].d);
    uint8_t q[kQkK];
    for (int s = 0; s < 16; ++s) {
      const int sc = Clamp(static_cast<int>(std::lrintf(sub_scale[s] * Inverse(d16))), -128, 127);
      b[i].scales[s] = static_cast<int8_t>(sc);
      const float eff = d16 * sc;
      for (int e = 0; e < 16; ++e) {
        const int v = eff != 0.0f ? static_cast<int>(std::lrintf(x[16 * s + e] / eff)) : 0;
        q[16 * s + e] = static_cast<uint8_t>(Clamp(v, -32, 31) + 32);
      }
    }
    for (int h = 0; h < 2; ++h) {
      const uint8_t* qq = q + 128 * h;
      uint8_t* ql = b[i].ql + 64 * h;
      uint8_t* qh = b[i].qh + 32 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((qq[l] & 0xF) | ((qq[l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((qq[l + 32] & 0xF) | ((qq[l + 96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) |
                                     ((qq[l + 64] >> 4) << 4) | ((qq[l + 96] >> 4) << 6));
      }
    }
  }
}

void DequantizeQ6_K(const BlockQ6_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQkK) {
    const float d = Fp16ToFloat(b[i].d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b[i].ql + 64 * h;
      const uint8_t* qh = b[i].qh + 32 * h;
      const int8_t* sc = b[i].scales + 8 * h;
      float* yy = y + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int s = l / 16;
        const int q0 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
        const int q1 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        yy[l] = d * sc[s] * q0;
        yy[l + 32] = d * sc[s + 2] * q1;
        yy[l + 64] = d * sc[s + 4] * q2;
        yy[l + 96] = d * sc[s + 6] * q3;
      }
    }
  }
}

// Blocks in a row of n elements; a partial block is a caller bug.
int64_t WholeBlocks(TensorType t, int64_t n) {
  const int64_t be = BlockElements(t);
  CHECK(n >= 0 && n % be == 0) << "row of " << n << " is not whole " << TensorTypeName(t)
                               << " blocks";
  return n / be;
}

}  // namespace

void QuantizeRow(TensorType t, const float* src, void* dst, int64_t n) {
  const int64_t nb = WholeBlocks(t, n);
  switch (t) {
    case TensorType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case TensorType::kF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = FloatToFp16(src[i]);
      return;
    case TensorType::kBF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = FloatToBf16(src[i]);
      return;
    case TensorType::kQ4_0: return QuantizeQ4_0(src, static_cast<BlockQ4_0*>(dst), nb);
    case TensorType::kQ4_1: return QuantizeQ4_1(src, static_cast<BlockQ4_1*>(dst), nb);
    case TensorType::kQ5_0: return QuantizeQ5_0(src, static_cast<BlockQ5_0*>(dst), nb);
    case TensorType::kQ8_0: return QuantizeQ8_0(src, static_cast<BlockQ8_0*>(dst), nb);
    case TensorType::kQ4_K: return QuantizeK4<BlockQ4_K, false>(src, static_cast<BlockQ4_K*>(dst), nb);
    case TensorType::kQ5_K: return QuantizeK4<BlockQ5_K, true>(src, static_cast<BlockQ5_K*>(dst), nb);
    case TensorType::kQ6_K: return QuantizeQ6_K(src, static_cast<BlockQ6_K*>(dst), nb);
  }
}

void DequantizeRow(TensorType t, const void* src, float* dst, int64_t n) {
  const int64_t nb = WholeBlocks(t, n);
  switch (t) {
    case TensorType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case TensorType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = Fp16ToFloat(static_cast<const uint16_t*>(src)[i]);
      return;
    case TensorType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToFloat(static_cast<const uint16_t*>(src)[i]);
      return;
    case TensorType::kQ4_0: return DequantizeQ4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
    case TensorType::kQ4_1: return DequantizeQ4_1(static_cast<const BlockQ4_1*>(src), dst, nb);
    case TensorType::kQ5_0: return DequantizeQ5_0(static_cast<const BlockQ5_0*>(src), dst, nb);
    case TensorType::kQ8_0: return DequantizeQ8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
    case TensorType::kQ4_K:
      return DequantizeK4<BlockQ4_K, false>(static_cast<const BlockQ4_K*>(src), dst, nb);
    case TensorType::kQ5_K:
      return DequantizeK4<BlockQ5_K, true>(static_cast<const BlockQ5_K*>(src), dst, nb);
    case TensorType::kQ6_K: return DequantizeQ6_K(static_cast<const BlockQ6_K*>(src), dst, nb);
  }
}

}  // namespace baton::engine::kernels
