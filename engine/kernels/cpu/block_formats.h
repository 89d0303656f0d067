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

// x = d * q + m, q unsigned 5-bit laid out as in Q5_0.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQk / 2];
};

// x = d * kIq4NlValues[q], q a 4-bit index in Q4_0's nibble order.
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[kQk / 2];
};

// x = d * q, q signed 8-bit.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQk];
};

// 16 sub-blocks of 16 (sub-block s = elements 16s..16s+15): x = d * sc[s] * q - dmin * mn[s],
// q unsigned 2-bit; scales[s] holds sc (low nibble) and mn (high nibble). In each half h of 128
// elements, element 128h + 32j + l (j < 4, l < 32) is bits 2j..2j+1 of qs[32h + l].
struct BlockQ2_K {
  uint8_t scales[kQkK / 16];
  uint8_t qs[kQkK / 4];
  uint16_t d;
  uint16_t dmin;
};

// 16 sub-blocks of 16: x = d * (sc[s] - 32) * (q - 4), q unsigned 3-bit: its low two bits sit
// in qs as Q2_K's do, bit 2 of element e is bit e / 32 of hmask[e % 32]. sc are 6-bit, packed
// in `scales` (see UnpackScaleQ3_K).
struct BlockQ3_K {
  uint8_t hmask[kQkK / 8];
  uint8_t qs[kQkK / 4];
  uint8_t scales[12];
  uint16_t d;
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

// 8 sub-blocks of 32: x = d * (ls[s] - 32) * kIq4NlValues[q], q a 4-bit index; sub-block s
// takes qs[16s..16s+15] in Q4_0's nibble order. ls is 6-bit: the low nibble is nibble s % 2 of
// scales_l[s / 2], the top two bits are bits 2s..2s+1 of scales_h.
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[kQkK / 64];
  uint8_t qs[kQkK / 2];
};

// The 16 values a 4-bit IQ4_NL / IQ4_XS index selects (ggml's non-linear grid).
inline constexpr int8_t kIq4NlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockIQ4_NL) == 18);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockIQ4_XS) == 136);
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

// Scale s (0..15) of a Q3_K block, before the -32 offset: its low nibble is the low nibble of
// scales[s] for s < 8 and the high nibble of scales[s - 8] otherwise; its top two bits are bits
// 2 * (s / 4) and up of scales[8 + s % 4].
inline uint8_t UnpackScaleQ3_K(const uint8_t* scales, int s) {
  const int low = s < 8 ? scales[s] & 0xF : scales[s - 8] >> 4;
  const int high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
  return static_cast<uint8_t>(low | (high << 4));
}

// The 6-bit scale of sub-block s (0..7) of an IQ4_XS block, before the -32 offset.
inline uint8_t UnpackScaleIQ4_XS(const BlockIQ4_XS& b, int s) {
  const int low = (b.scales_l[s / 2] >> (4 * (s % 2))) & 0xF;
  const int high = (b.scales_h >> (2 * s)) & 3;
  return static_cast<uint8_t>(low | (high << 4));
}

}  // namespace baton::engine::kernels
