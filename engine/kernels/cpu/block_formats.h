// In-memory layouts of the quantized block types, byte-compatible with ggml's blocks as stored
// in GGUF files. All multi-byte fields are little-endian; `d`/`dmin`/`m` are IEEE binary16.
// Plain data: thread-safe.
#pragma once

#include <cstdint>

namespace baton::engine::kernels {

inline constexpr int kQk = 32;    // elements per block of the *_0 / *_1 types
inline constexpr int kQkK = 256;  // elements per super-block of the K types

// x = d * (q - 8), q unsigned 4-bit. qs[j] holds element j (low nibble) and j + 16 (high).
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQk / 2];
};

// x = d * q + m, q unsigned 4-bit, same nibble order as Q4_0.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQk / 2];
};

// x = d * (q - 16), q unsigned 5-bit: low nibbles as Q4_0; bit 4 of element j is bit j of the
// little-endian uint32 `qh`.
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQk / 2];
};

// x = d * q, q signed 8-bit.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQk];
};

// 8 sub-blocks of 32: x = d * sc[s] * q - dmin * mn[s], q unsigned 4-bit, sc/mn 6-bit packed in
// `scales` (see UnpackScaleMinK4). qs[32c + l] holds element 64c + l (low) and 64c + 32 + l (high).
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[kQkK / 2];
};

// As Q4_K with 5-bit q; bit 4 of element 64c + l is bit 2c of qh[l], of 64c + 32 + l bit 2c + 1.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQkK / 8];
  uint8_t qs[kQkK / 2];
};

// 16 sub-blocks of 16: x = d * scales[s] * (q - 32), q unsigned 6-bit. In each half h of 128
// elements (ql + 64h, qh + 32h), for l < 32: element l is (ql[l] & 15) | (qh[l] & 3) << 4,
// l + 32: (ql[l + 32] & 15) | (qh[l] >> 2 & 3) << 4, l + 64: (ql[l] >> 4) | (qh[l] >> 4 & 3) << 4,
// l + 96: (ql[l + 32] >> 4) | (qh[l] >> 6) << 4.
struct BlockQ6_K {
  uint8_t ql[kQkK / 2];
  uint8_t qh[kQkK / 4];
  int8_t scales[kQkK / 16];
  uint16_t d;
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);

// Scale and min of sub-block `s` (0..7) of a Q4_K/Q5_K block: 6-bit values packed in 12 bytes.
// Bytes 0-3 hold sc[0..3] (bits 0-5) and the top 2 bits of sc[4..7]; bytes 4-7 hold mn[0..3]
// and the top bits of mn[4..7]; bytes 8-11 hold the low nibbles of sc[4..7] and mn[4..7].
inline void UnpackScaleMinK4(const uint8_t* scales, int s, uint8_t* sc, uint8_t* mn) {
  if (s < 4) {
    *sc = scales[s] & 63;
    *mn = scales[s + 4] & 63;
  } else {
    *sc = (scales[s + 4] & 0xF) | ((scales[s - 4] >> 6) << 4);
    *mn = (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4);
  }
}

}  // namespace baton::engine::kernels
