// Scalar conversions between float and the 16-bit float formats stored in GGUF files:
// IEEE binary16 ("f16", also every block scale of the quantized types) and bfloat16.
// Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <cstring>

namespace baton::engine {

inline float BitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

inline uint32_t FloatToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

// Exact conversion of a binary16 value (incl. subnormals, inf, NaN) to float.
inline float Fp16ToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  if (exp == 0x1f) return BitsToFloat(sign | 0x7f800000 | (mant << 13));
  if (exp != 0) return BitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  // Zero or subnormal: mant * 2^-24, exact in float.
  const float magnitude = static_cast<float>(mant) * (1.0f / 16777216.0f);
  return BitsToFloat(sign | FloatToBits(magnitude));
}

// Round-to-nearest-even conversion of float to binary16; overflow gives inf, NaN stays NaN.
inline uint16_t FloatToFp16(float f) {
  const uint32_t bits = FloatToBits(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t abs = bits & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;              // NaN
  if (abs >= 0x477ff000) return sign | 0x7c00;             // rounds to >= 65520: inf
  if (abs >= 0x38800000) {                                 // normal half (>= 2^-14)
    const uint32_t round = 0xfff + ((abs >> 13) & 1);
    return sign | static_cast<uint16_t>((abs - 0x38000000 + round) >> 13);
  }
  // Subnormal half or zero: scale so that the half ulp (2^-24) is 1.0 and round to nearest even.
  const float scaled = BitsToFloat(abs) * 16777216.0f;
  const float rounded = __builtin_nearbyintf(scaled);
  return sign | static_cast<uint16_t>(rounded);
}

inline float Bf16ToFloat(uint16_t b) { return BitsToFloat(static_cast<uint32_t>(b) << 16); }

// Round-to-nearest-even conversion of float to bfloat16; NaN stays a quiet NaN.
inline uint16_t FloatToBf16(float f) {
  const uint32_t bits = FloatToBits(f);
  if ((bits & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((bits >> 16) | 0x40);
  return static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

}  // namespace baton::engine
