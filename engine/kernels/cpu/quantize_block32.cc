// Quantizers and dequantizers of the 32-element block types: round-to-nearest against one scale
// (and a minimum for the *_1 types) per block.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/cpu/quantize_blocks.h"
#include "engine/tensor/fp16.h"

namespace baton::engine::kernels {
namespace {

// Packs 32 quants in Q4_0's nibble order (element j low, j + 16 high); when qh is set, bit 4 of
// element j goes to bit j of the little-endian uint32 qh (Q5_0, Q5_1).
void PackBlock32(const int* q, uint8_t* qs, uint8_t* qh) {
  uint32_t high = 0;
  for (int j = 0; j < kQk / 2; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 0xF) | ((q[j + kQk / 2] & 0xF) << 4));
    high |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    high |= static_cast<uint32_t>((q[j + kQk / 2] >> 4) & 1) << (j + kQk / 2);
  }
  if (qh != nullptr) std::memcpy(qh, &high, sizeof(high));
}

// The inverse of PackBlock32 (qh null: 4-bit quants).
void UnpackBlock32(const uint8_t* qs, const uint8_t* qh, int* q) {
  uint32_t high = 0;
  if (qh != nullptr) std::memcpy(&high, qh, sizeof(high));
  for (int j = 0; j < kQk / 2; ++j) {
    q[j] = (qs[j] & 0xF) | static_cast<int>(((high >> j) & 1) << 4);
    q[j + kQk / 2] = (qs[j] >> 4) | static_cast<int>(((high >> (j + kQk / 2)) & 1) << 4);
  }
}

// The fifth bits of the 5-bit types, nullptr for the 4-bit ones.
template <typename Block>
auto HighBits(Block& b) {
  if constexpr (requires { b.qh; }) {
    return b.qh + 0;
  } else {
    return static_cast<uint8_t*>(nullptr);
  }
}

// Q4_0 / Q5_0: x = d * (q - 2^(bits-1)).
template <typename Block, int kBits>
void QuantizeSymmetric(const float* x, Block* b, int64_t nb) {
  constexpr int kHalf = 1 << (kBits - 1);
  for (int64_t i = 0; i < nb; ++i, x += kQk) {
    const float d = SignedAbsMax(x, kQk) / -static_cast<float>(kHalf);
    const float id = Inverse(d);
    b[i].d = FloatToFp16(d);
    int q[kQk];
    for (int j = 0; j < kQk; ++j) {
      q[j] = std::min(2 * kHalf - 1, static_cast<int>(x[j] * id + (kHalf + 0.5f)));
    }
    PackBlock32(q, b[i].qs, HighBits(b[i]));
  }
}

template <typename Block, int kBits>
void DequantizeSymmetric(const Block* b, float* y, int64_t nb) {
  constexpr int kHalf = 1 << (kBits - 1);
  for (int64_t i = 0; i < nb; ++i, y += kQk) {
    const float d = Fp16ToFloat(b[i].d);
    int q[kQk];
    UnpackBlock32(b[i].qs, HighBits(b[i]), q);
    for (int j = 0; j < kQk; ++j) y[j] = d * (q[j] - kHalf);
  }
}

// Q4_1 / Q5_1: x = d * q + m over the block's [min, max].
template <typename Block, int kBits>
void QuantizeWithMin(const float* x, Block* b, int64_t nb) {
  constexpr int kMax = (1 << kBits) - 1;
  for (int64_t i = 0; i < nb; ++i, x += kQk) {
    const float lo = *std::min_element(x, x + kQk);
    const float hi = *std::max_element(x, x + kQk);
    const float d = (hi - lo) / kMax;
    const float id = Inverse(d);
    b[i].d = FloatToFp16(d);
    b[i].m = FloatToFp16(lo);
    int q[kQk];
    for (int j = 0; j < kQk; ++j) q[j] = std::min(kMax, static_cast<int>((x[j] - lo) * id + 0.5f));
    PackBlock32(q, b[i].qs, HighBits(b[i]));
  }
}

template <typename Block, int kBits>
void DequantizeWithMin(const Block* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQk) {
    const float d = Fp16ToFloat(b[i].d);
    const float m = Fp16ToFloat(b[i].m);
    int q[kQk];
    UnpackBlock32(b[i].qs, HighBits(b[i]), q);
    for (int j = 0; j < kQk; ++j) y[j] = d * q[j] + m;
  }
}

}  // namespace

float SignedAbsMax(const float* x, int n) {
  float best = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > std::fabs(best)) best = x[i];
  }
  return best;
}

int NearestIq4Index(float v) {
  int best = 0;
  for (int i = 1; i < 16; ++i) {
    if (std::fabs(v - kIq4NlValues[i]) < std::fabs(v - kIq4NlValues[best])) best = i;
  }
  return best;
}

void QuantizeQ4_0(const float* x, BlockQ4_0* b, int64_t nb) {
  QuantizeSymmetric<BlockQ4_0, 4>(x, b, nb);
}
void DequantizeQ4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  DequantizeSymmetric<BlockQ4_0, 4>(b, y, nb);
}
void QuantizeQ5_0(const float* x, BlockQ5_0* b, int64_t nb) {
  QuantizeSymmetric<BlockQ5_0, 5>(x, b, nb);
}
void DequantizeQ5_0(const BlockQ5_0* b, float* y, int64_t nb) {
  DequantizeSymmetric<BlockQ5_0, 5>(b, y, nb);
}
void QuantizeQ4_1(const float* x, BlockQ4_1* b, int64_t nb) {
  QuantizeWithMin<BlockQ4_1, 4>(x, b, nb);
}
void DequantizeQ4_1(const BlockQ4_1* b, float* y, int64_t nb) {
  DequantizeWithMin<BlockQ4_1, 4>(b, y, nb);
}
void QuantizeQ5_1(const float* x, BlockQ5_1* b, int64_t nb) {
  QuantizeWithMin<BlockQ5_1, 5>(x, b, nb);
}
void DequantizeQ5_1(const BlockQ5_1* b, float* y, int64_t nb) {
  DequantizeWithMin<BlockQ5_1, 5>(b, y, nb);
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

// The block's signed extreme maps to the grid's -127; every element then takes the nearest grid
// value (ggml searches scales for a lower error; the layout is the same).
void QuantizeIQ4_NL(const float* x, BlockIQ4_NL* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQk) {
    b[i].d = FloatToFp16(SignedAbsMax(x, kQk) / -127.0f);
    const float id = Inverse(Fp16ToFloat(b[i].d));
    int q[kQk];
    for (int j = 0; j < kQk; ++j) q[j] = NearestIq4Index(x[j] * id);
    PackBlock32(q, b[i].qs, nullptr);
  }
}

void DequantizeIQ4_NL(const BlockIQ4_NL* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQk) {
    const float d = Fp16ToFloat(b[i].d);
    int q[kQk];
    UnpackBlock32(b[i].qs, nullptr, q);
    for (int j = 0; j < kQk; ++j) y[j] = d * kIq4NlValues[q[j]];
  }
}

}  // namespace baton::engine::kernels
