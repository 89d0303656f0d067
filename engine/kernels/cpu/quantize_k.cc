// Quantizers and dequantizers of the 256-element super-block ("K") types and IQ4_XS: per
// sub-block scales (and minimums) themselves quantized against one or two fp16 super-scales.
// The quantizers round to nearest with min/max scales; ggml searches scales for a lower error,
// but the layouts are ggml's.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/cpu/quantize_blocks.h"
#include "engine/tensor/fp16.h"

namespace baton::engine::kernels {
namespace {

// Affine sub-blocks (Q2_K, Q4_K, Q5_K): each of n_sub sub-blocks of sub_len elements is mapped
// onto [0, qmax] with its minimum clamped to <= 0; scale and -minimum are then quantized to
// [0, levels] against the super-block's d and dmin. Writes d, dmin, the quantized sc/mn and the
// effective per-sub-block scale and offset (x ~ eff_d * q - eff_m).
void AffineSubScales(const float* x, int n_sub, int sub_len, int qmax, int levels,
                     uint16_t* d_out, uint16_t* dmin_out, uint8_t* sc, uint8_t* mn,
                     float* eff_d, float* eff_m) {
  float sub_scale[16], sub_min[16];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int s = 0; s < n_sub; ++s) {
    const float* xs = x + sub_len * s;
    const float lo = std::min(0.0f, *std::min_element(xs, xs + sub_len));
    const float hi = *std::max_element(xs, xs + sub_len);
    sub_scale[s] = (hi - lo) / qmax;
    sub_min[s] = -lo;
    max_scale = std::max(max_scale, sub_scale[s]);
    max_min = std::max(max_min, sub_min[s]);
  }
  *d_out = FloatToFp16(max_scale / levels);
  *dmin_out = FloatToFp16(max_min / levels);
  const float d16 = Fp16ToFloat(*d_out);
  const float dmin16 = Fp16ToFloat(*dmin_out);
  for (int s = 0; s < n_sub; ++s) {
    sc[s] = static_cast<uint8_t>(
        Clamp(static_cast<int>(std::lrintf(sub_scale[s] * Inverse(d16))), 0, levels));
    mn[s] = static_cast<uint8_t>(
        Clamp(static_cast<int>(std::lrintf(sub_min[s] * Inverse(dmin16))), 0, levels));
    eff_d[s] = d16 * sc[s];
    eff_m[s] = dmin16 * mn[s];
  }
}

// Quantized value of x for a sub-block with effective scale/offset, clamped to [0, qmax].
int QuantizeAffine(float x, float eff_d, float eff_m, int qmax) {
  if (eff_d == 0.0f) return 0;
  return Clamp(static_cast<int>(std::lrintf((x + eff_m) / eff_d)), 0, qmax);
}

// Symmetric sub-blocks (Q3_K, Q6_K, IQ4_XS): each sub-block's signed extreme maps to -q_neg;
// the super-scale d maps the widest sub-block scale to -sc_neg, and each sub-block scale becomes
// an integer sc in [-sc_neg, sc_neg - 1]. Writes d, sc and eff = d * sc.
void SymmetricSubScales(const float* x, int n_sub, int sub_len, float q_neg, int sc_neg,
                        uint16_t* d_out, int* sc, float* eff) {
  float sub_scale[16];
  float widest = 0.0f;
  for (int s = 0; s < n_sub; ++s) {
    sub_scale[s] = SignedAbsMax(x + sub_len * s, sub_len) / -q_neg;
    if (std::fabs(sub_scale[s]) > std::fabs(widest)) widest = sub_scale[s];
  }
  *d_out = FloatToFp16(widest / -static_cast<float>(sc_neg));
  const float d16 = Fp16ToFloat(*d_out);
  for (int s = 0; s < n_sub; ++s) {
    sc[s] = Clamp(static_cast<int>(std::lrintf(sub_scale[s] * Inverse(d16))), -sc_neg,
                  sc_neg - 1);
    eff[s] = d16 * sc[s];
  }
}

// x / eff rounded and clamped to [lo, hi] (0 when the scale is 0).
int QuantizeSymmetric(float x, float eff, int lo, int hi) {
  return eff != 0.0f ? Clamp(static_cast<int>(std::lrintf(x / eff)), lo, hi) : 0;
}

// Q2_K and Q3_K keep the low two bits of element 128h + 32j + l in bits 2j of qs[32h + l].
void PackTwoBitQuants(const int* q, uint8_t* qs) {
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const int* e = q + 128 * h + l;
      qs[32 * h + l] = static_cast<uint8_t>((e[0] & 3) | ((e[32] & 3) << 2) | ((e[64] & 3) << 4) |
                                            ((e[96] & 3) << 6));
    }
  }
}

int TwoBitQuant(const uint8_t* qs, int e) {
  return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

// Q4_K and Q5_K share scales and nibble order; Q5_K adds a fifth bit per quant in qh.
template <typename Block, bool kFiveBit>
void QuantizeK4(const float* x, Block* b, int64_t nb) {
  constexpr int kMax = kFiveBit ? 31 : 15;
  for (int64_t i = 0; i < nb; ++i, x += kQkK) {
    uint8_t sc[8], mn[8];
    float eff_d[8], eff_m[8];
    AffineSubScales(x, 8, 32, kMax, 63, &b[i].d, &b[i].dmin, sc, mn, eff_d, eff_m);
    for (int j = 0; j < 4; ++j) {
      b[i].scales[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
      b[i].scales[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
      b[i].scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
    }
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

}  // namespace

void QuantizeQ2_K(const float* x, BlockQ2_K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQkK) {
    uint8_t sc[16], mn[16];
    float eff_d[16], eff_m[16];
    AffineSubScales(x, 16, 16, 3, 15, &b[i].d, &b[i].dmin, sc, mn, eff_d, eff_m);
    int q[kQkK];
    for (int e = 0; e < kQkK; ++e) q[e] = QuantizeAffine(x[e], eff_d[e / 16], eff_m[e / 16], 3);
    for (int s = 0; s < 16; ++s) b[i].scales[s] = static_cast<uint8_t>(sc[s] | (mn[s] << 4));
    PackTwoBitQuants(q, b[i].qs);
  }
}

void DequantizeQ2_K(const BlockQ2_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQkK) {
    const float d = Fp16ToFloat(b[i].d);
    const float dmin = Fp16ToFloat(b[i].dmin);
    for (int e = 0; e < kQkK; ++e) {
      const uint8_t s = b[i].scales[e / 16];
      y[e] = d * (s & 0xF) * TwoBitQuant(b[i].qs, e) - dmin * (s >> 4);
    }
  }
}

void QuantizeQ3_K(const float* x, BlockQ3_K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQkK) {
    int sc[16];
    float eff[16];
    SymmetricSubScales(x, 16, 16, 4.0f, 32, &b[i].d, sc, eff);
    int q[kQkK];
    std::memset(b[i].hmask, 0, sizeof(b[i].hmask));
    for (int e = 0; e < kQkK; ++e) {
      q[e] = QuantizeSymmetric(x[e], eff[e / 16], -4, 3) + 4;
      b[i].hmask[e % 32] |= static_cast<uint8_t>((q[e] >> 2) << (e / 32));
    }
    PackTwoBitQuants(q, b[i].qs);
    std::memset(b[i].scales, 0, sizeof(b[i].scales));
    for (int s = 0; s < 16; ++s) {
      const int u = sc[s] + 32;  // 6-bit
      b[i].scales[s % 8] |= static_cast<uint8_t>((u & 0xF) << (4 * (s / 8)));
      b[i].scales[8 + s % 4] |= static_cast<uint8_t>((u >> 4) << (2 * (s / 4)));
    }
  }
}

void DequantizeQ3_K(const BlockQ3_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQkK) {
    const float d = Fp16ToFloat(b[i].d);
    for (int e = 0; e < kQkK; ++e) {
      const int q = TwoBitQuant(b[i].qs, e) | (((b[i].hmask[e % 32] >> (e / 32)) & 1) << 2);
      y[e] = d * (UnpackScaleQ3_K(b[i].scales, e / 16) - 32) * (q - 4);
    }
  }
}

void QuantizeQ4_K(const float* x, BlockQ4_K* b, int64_t nb) {
  QuantizeK4<BlockQ4_K, false>(x, b, nb);
}
void DequantizeQ4_K(const BlockQ4_K* b, float* y, int64_t nb) {
  DequantizeK4<BlockQ4_K, false>(b, y, nb);
}
void QuantizeQ5_K(const float* x, BlockQ5_K* b, int64_t nb) {
  QuantizeK4<BlockQ5_K, true>(x, b, nb);
}
void DequantizeQ5_K(const BlockQ5_K* b, float* y, int64_t nb) {
  DequantizeK4<BlockQ5_K, true>(b, y, nb);
}

// Sub-block scales map the signed abs max to -32; the super scale maps the largest of those to
// -128 so the int8 scales use their full range.
void QuantizeQ6_K(const float* x, BlockQ6_K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQkK) {
    int sc[16];
    float eff[16];
    SymmetricSubScales(x, 16, 16, 32.0f, 128, &b[i].d, sc, eff);
    uint8_t q[kQkK];
    for (int s = 0; s < 16; ++s) {
      b[i].scales[s] = static_cast<int8_t>(sc[s]);
      for (int e = 16 * s; e < 16 * s + 16; ++e) {
        q[e] = static_cast<uint8_t>(QuantizeSymmetric(x[e], eff[s], -32, 31) + 32);
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

void QuantizeIQ4_XS(const float* x, BlockIQ4_XS* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQkK) {
    int sc[8];
    float eff[8];
    SymmetricSubScales(x, 8, 32, 127.0f, 32, &b[i].d, sc, eff);
    b[i].scales_h = 0;
    std::memset(b[i].scales_l, 0, sizeof(b[i].scales_l));
    for (int s = 0; s < 8; ++s) {
      const int ls = sc[s] + 32;
      b[i].scales_l[s / 2] |= static_cast<uint8_t>((ls & 0xF) << (4 * (s % 2)));
      b[i].scales_h |= static_cast<uint16_t>((ls >> 4) << (2 * s));
      const float inv = Inverse(eff[s]);
      for (int l = 0; l < 16; ++l) {
        const int lo = NearestIq4Index(x[32 * s + l] * inv);
        const int hi = NearestIq4Index(x[32 * s + 16 + l] * inv);
        b[i].qs[16 * s + l] = static_cast<uint8_t>(lo | (hi << 4));
      }
    }
  }
}

void DequantizeIQ4_XS(const BlockIQ4_XS* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQkK) {
    const float d = Fp16ToFloat(b[i].d);
    for (int s = 0; s < 8; ++s) {
      const float dl = d * (UnpackScaleIQ4_XS(b[i], s) - 32);
      for (int l = 0; l < 16; ++l) {
        y[32 * s + l] = dl * kIq4NlValues[b[i].qs[16 * s + l] & 0xF];
        y[32 * s + 16 + l] = dl * kIq4NlValues[b[i].qs[16 * s + l] >> 4];
      }
    }
  }
}

}  // namespace baton::engine::kernels
