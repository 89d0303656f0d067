// AVX2 integer kernels for the quantized types: each weight block is decoded to int8 values in
// registers and dotted with the activations' int8 quants (vpmaddubsw, vpmaddwd), then scaled in
// float once per block (32-element types) or per super-block (256-element types, integer
// sub-block scales and minimums folded in before the float step). Every function carries a
// target attribute; callers reach them only after CpuHasAvx2Kernels().
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/cpu/avx2_tile_helpers.h"
#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/row_kernels.h"

namespace baton::engine::kernels {
namespace {

// ---- Decoding helpers. ----

// 16 bytes of packed nibbles as 32 quants in Q4_0's order (low nibbles first).
BATON_AVX2_INLINE inline __m256i Nibbles(const uint8_t* qs) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i low4 = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), low4), _mm_and_si128(v, low4));
}

// Bit j of the little-endian uint32 at qh as 0x10 in byte j (Q5_0 / Q5_1 fifth bits).
BATON_AVX2_INLINE inline __m256i FifthBits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, sizeof(bits));
  // Byte j takes byte j / 8 of `bits`, then keeps bit j % 8.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Bits [shift, shift + width) of every byte (width <= 8 - shift).
BATON_AVX2_INLINE inline __m256i ByteBits(__m256i v, int shift, int mask) {
  return _mm256_and_si256(_mm256_srli_epi16(v, shift), _mm256_set1_epi8(static_cast<char>(mask)));
}

// The IQ4 grid values the 4-bit indices in `idx` select.
BATON_AVX2_INLINE inline __m256i Iq4Values(__m256i idx) {
  const __m256i grid = _mm256_broadcastsi128_si256(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4NlValues)));
  return _mm256_shuffle_epi8(grid, idx);
}

// Lane l = sum of w[4l..4l+3] * x[4l..4l+3], exact, for signed int8 w and x (|x| <= 127).
BATON_AVX2_INLINE inline __m256i DotQuads(__m256i w, __m256i x) {
  const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

// Sum of the 8 lanes in ggml's order: halves added lane-wise, then lanes {0,2} and {1,3}, then
// the two partial sums (so Q8_0 rounds as llama.cpp's x86 build does).
BATON_AVX2_INLINE inline float SumLanesGgmlOrder(__m256 v) {
  const __m128 four = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(two) + _mm_cvtss_f32(_mm_movehdup_ps(two));
}

// ---- 32-element block types: one fp16 scale (and minimum) per block. ----
// Values() gives the block's 32 quants as signed int8 with the type's offset removed; the *_1
// types add m * (sum of the block's activations) separately.

struct Q4_0Avx2 {
  using Block = BlockQ4_0;
  static constexpr bool kHasMin = false;
  BATON_AVX2_INLINE static __m256i Values(const Block& b) {
    return _mm256_sub_epi8(Nibbles(b.qs), _mm256_set1_epi8(8));
  }
};
struct Q4_1Avx2 {
  using Block = BlockQ4_1;
  static constexpr bool kHasMin = true;
  BATON_AVX2_INLINE static __m256i Values(const Block& b) { return Nibbles(b.qs); }
};
struct Q5_0Avx2 {
  using Block = BlockQ5_0;
  static constexpr bool kHasMin = false;
  BATON_AVX2_INLINE static __m256i Values(const Block& b) {
    return _mm256_sub_epi8(_mm256_or_si256(Nibbles(b.qs), FifthBits(b.qh)), _mm256_set1_epi8(16));
  }
};
struct Q5_1Avx2 {
  using Block = BlockQ5_1;
  static constexpr bool kHasMin = true;
  BATON_AVX2_INLINE static __m256i Values(const Block& b) {
    return _mm256_or_si256(Nibbles(b.qs), FifthBits(b.qh));
  }
};
struct Q8_0Avx2 {
  using Block = BlockQ8_0;
  static constexpr bool kHasMin = false;
  BATON_AVX2_INLINE static __m256i Values(const Block& b) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
  }
};
struct IQ4_NLAvx2 {
  using Block = BlockIQ4_NL;
  static constexpr bool kHasMin = false;
  BATON_AVX2_INLINE static __m256i Values(const Block& b) { return Iq4Values(Nibbles(b.qs)); }
};

// One weight row against NR activation rows. Per block, 8 float lanes each take
// fma(d_w * d_x, exact dot of 4 consecutive quants): for Q8_0 exactly the scalar kernel's (and
// ggml's) arithmetic, so the results are bit-identical.
template <typename D, int NR>
BATON_AVX2 void Block32Rows(const typename D::Block* blk, int64_t nb, const Q8Activations& q8,
                            int64_t i0, float* out, int64_t out_stride) {
  __m256 acc[NR];
  float min_acc[NR];
  const int8_t* xq[NR];
  const float* xd[NR];
  const float* xds[NR];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
    acc[r] = _mm256_setzero_ps();
    min_acc[r] = 0.0f;
    xq[r] = q8.row_qs(i0 + r);
    xd[r] = q8.row_d(i0 + r);
    xds[r] = q8.row_dsum32(i0 + r);
  }
  for (int64_t b = 0; b < nb; ++b) {
    // The row's weights 1 KiB ahead (rows are contiguous: past the end is the next row).
    _mm_prefetch(reinterpret_cast<const char*>(blk + b) + 1024, _MM_HINT_T0);
    const __m256i w = D::Values(blk[b]);
    const float dw = _cvtsh_ss(blk[b].d);
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      const __m256i s =
          DotQuads(w, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[r] + kQk * b)));
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dw * xd[r][b]), _mm256_cvtepi32_ps(s), acc[r]);
      if constexpr (D::kHasMin) min_acc[r] += _cvtsh_ss(blk[b].m) * xds[r][b];
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
    out[(i0 + r) * out_stride] = SumLanesGgmlOrder(acc[r]) + min_acc[r];
  }
}

template <typename D>
BATON_AVX2 void Block32Kernel(const uint8_t* w_row, const RowArgs& a, float* out,
                              int64_t out_stride) {
  const auto* blk = reinterpret_cast<const typename D::Block*>(w_row);
  const int64_t nb = a.k / kQk;
  int64_t i = a.i0;
  for (; i + 4 <= a.i0 + a.m; i += 4) Block32Rows<D, 4>(blk, nb, *a.q8, i, out, out_stride);
  for (; i < a.i0 + a.m; ++i) Block32Rows<D, 1>(blk, nb, *a.q8, i, out, out_stride);
}

// ---- 256-element super-block types. ----
// Decode() turns a super-block into 8 vectors of 32 quants (elements 32c..32c+31), an integer
// scale per 16-element sub-block (types with 32-element sub-blocks repeat each), and for the
// affine types an integer minimum per 16: x = d * sc * q - dmin * mn (kMinPer32: per 32, each
// repeated, so the activations' sums of 32 give the minimum terms).

struct KDecoded {
  __m256i q[8];
  int16_t sc[16];
  int16_t mn[16];
  float d;
  float dmin;
};

struct Q2_KAvx2 {
  using Block = BlockQ2_K;
  static constexpr bool kHasMin = true;
  static constexpr bool kMinPer32 = false;
  static constexpr bool kUnsigned = true;
  BATON_AVX2_INLINE static void Decode(const Block& b, KDecoded* o) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * h));
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) o->q[4 * h + j] = ByteBits(v, 2 * j, 3);
    }
    for (int s = 0; s < 16; ++s) {
      o->sc[s] = b.scales[s] & 0xF;
      o->mn[s] = b.scales[s] >> 4;
    }
    o->d = _cvtsh_ss(b.d);
    o->dmin = _cvtsh_ss(b.dmin);
  }
};

struct Q3_KAvx2 {
  using Block = BlockQ3_K;
  static constexpr bool kHasMin = false;
  static constexpr bool kMinPer32 = false;
  static constexpr bool kUnsigned = false;
  BATON_AVX2_INLINE static void Decode(const Block& b, KDecoded* o) {
    const __m256i hm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.hmask));
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * h));
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const int c = 4 * h + j;
        const __m256i high = _mm256_slli_epi16(ByteBits(hm, c, 1), 2);
        o->q[c] = _mm256_sub_epi8(_mm256_or_si256(ByteBits(v, 2 * j, 3), high),
                                  _mm256_set1_epi8(4));
      }
    }
    for (int s = 0; s < 16; ++s) o->sc[s] = static_cast<int16_t>(UnpackScaleQ3_K(b.scales, s) - 32);
    o->d = _cvtsh_ss(b.d);
  }
};

template <typename BlockT, bool kFiveBit>
struct QK4Avx2 {
  using Block = BlockT;
  static constexpr bool kHasMin = true;
  static constexpr bool kMinPer32 = true;  // mn[2s] == mn[2s + 1]
  static constexpr bool kUnsigned = true;
  BATON_AVX2_INLINE static void Decode(const Block& b, KDecoded* o) {
    __m256i qh = _mm256_setzero_si256();
    if constexpr (kFiveBit) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh));
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * c));
      __m256i lo = ByteBits(v, 0, 0xF);
      __m256i hi = ByteBits(v, 4, 0xF);
      if constexpr (kFiveBit) {
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(ByteBits(qh, 2 * c, 1), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(ByteBits(qh, 2 * c + 1, 1), 4));
      }
      o->q[2 * c] = lo;
      o->q[2 * c + 1] = hi;
    }
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, mn;
      UnpackScaleMinK4(b.scales, s, &sc, &mn);
      o->sc[2 * s] = o->sc[2 * s + 1] = sc;
      o->mn[2 * s] = o->mn[2 * s + 1] = mn;
    }
    o->d = _cvtsh_ss(b.d);
    o->dmin = _cvtsh_ss(b.dmin);
  }
};

struct IQ4_XSAvx2 {
  using Block = BlockIQ4_XS;
  static constexpr bool kHasMin = false;
  static constexpr bool kMinPer32 = false;
  static constexpr bool kUnsigned = false;
  BATON_AVX2_INLINE static void Decode(const Block& b, KDecoded* o) {
#pragma GCC unroll 8
    for (int s = 0; s < 8; ++s) {
      o->q[s] = Iq4Values(Nibbles(b.qs + 16 * s));
      o->sc[2 * s] = o->sc[2 * s + 1] = static_cast<int16_t>(UnpackScaleIQ4_XS(b, s) - 32);
    }
    o->d = _cvtsh_ss(b.d);
  }
};

// [v[2c] x 8, v[2c + 1] x 8]: the 16-bit lanes of a vpmaddubsw over elements 32c..32c+31 pair
// up elements 2l, 2l + 1, so lanes 0-7 belong to sub-block 2c and lanes 8-15 to 2c + 1.
BATON_AVX2_INLINE inline __m256i PairOfSubBlocks(const int16_t* v, int c) {
  return _mm256_set_m128i(_mm_set1_epi16(v[2 * c + 1]), _mm_set1_epi16(v[2 * c]));
}

template <typename D, int NR>
BATON_AVX2 void KRows(const typename D::Block* blk, int64_t nb, const Q8Activations& q8,
                      int64_t i0, float* out, int64_t out_stride) {
  __m256 acc[NR];
  float min_acc[NR];  // kMinPer32: the dmin terms, subtracted at the end
  const int8_t* xq[NR];
  const float* xd[NR];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
    acc[r] = _mm256_setzero_ps();
    min_acc[r] = 0.0f;
    xq[r] = q8.row_qs(i0 + r);
    xd[r] = q8.row_d(i0 + r);
  }
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t sb = 0; sb < nb; ++sb) {
    KDecoded w;
    D::Decode(blk[sb], &w);
    __m256i isum[NR], msum[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) isum[r] = msum[r] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      const __m256i scales = PairOfSubBlocks(w.sc, c);
      // vpmaddubsw multiplies unsigned by signed bytes: signed weights lend x their signs.
      const __m256i wu = D::kUnsigned ? w.q[c] : _mm256_sign_epi8(w.q[c], w.q[c]);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        const __m256i x =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[r] + kQkK * sb + 32 * c));
        const __m256i pairs =
            _mm256_maddubs_epi16(wu, D::kUnsigned ? x : _mm256_sign_epi8(x, w.q[c]));
        isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(pairs, scales));
        if constexpr (D::kHasMin && !D::kMinPer32) {
          const __m256i xsum = _mm256_maddubs_epi16(ones, x);
          msum[r] = _mm256_add_epi32(msum[r], _mm256_madd_epi16(xsum, PairOfSubBlocks(w.mn, c)));
        }
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r]), _mm256_set1_ps(w.d * xd[r][sb]),
                               acc[r]);
      if constexpr (D::kMinPer32) {
        // One minimum per 32 elements: the activations' precomputed sums of 32 suffice.
        const int32_t* sum32 = q8.row_sum32(i0 + r) + 8 * sb;
        int32_t m = 0;
        for (int s = 0; s < 8; ++s) m += w.mn[2 * s] * sum32[s];
        min_acc[r] += w.dmin * xd[r][sb] * static_cast<float>(m);
      } else if constexpr (D::kHasMin) {
        acc[r] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum[r]),
                                  _mm256_set1_ps(w.dmin * xd[r][sb]), acc[r]);
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
    out[(i0 + r) * out_stride] = SumLanesGgmlOrder(acc[r]) - min_acc[r];
  }
}

template <typename D>
BATON_AVX2 void KKernel(const uint8_t* w_row, const RowArgs& a, float* out, int64_t out_stride) {
  const auto* blk = reinterpret_cast<const typename D::Block*>(w_row);
  const int64_t nb = a.k / kQkK;
  int64_t i = a.i0;
  for (; i + 4 <= a.i0 + a.m; i += 4) KRows<D, 4>(blk, nb, *a.q8, i, out, out_stride);
  for (; i < a.i0 + a.m; ++i) KRows<D, 1>(blk, nb, *a.q8, i, out, out_stride);
}

// ---- Q4_K and Q6_K for few activation rows (decode): dedicated loops. ----
// Each super-block is decoded once for all the rows of a call (up to 4 at a time), the scales
// unpacked with a few vector ops and broadcast per 32 elements with one byte shuffle. The float
// steps are the tiled kernel's (quant_tiled_kernels.cc, KRowsTiled): a super-block's exact integer
// sums, then one fma per super-block (Q4_K: and one for the minimums) on a scalar accumulator,
// in super-block order, so a product of few rows (decode) is bit-identical to the same rows
// among many (m >= the tile's min_rows): a sequence's logits do not depend on its batch.

// vpshufb controls, 32-byte aligned in memory (as register constants GCC rebuilds them inside
// the loops): control i fills int16 lanes 0-7 with lane step * i of the source's low 128-bit
// half and lanes 8-15 with lane step * i + odd of its high half.
template <int N>
struct Int16Broadcasts {
  alignas(32) uint8_t control[N][32];
  constexpr Int16Broadcasts(int step, int odd) : control{} {
    for (int i = 0; i < N; ++i) {
      for (int b = 0; b < 32; ++b) {
        const int lane = b < 16 ? step * i : step * i + odd;
        control[i][b] = static_cast<uint8_t>(2 * lane + b % 2);
      }
    }
  }
  BATON_AVX2_INLINE __m256i operator[](int i) const {
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(control[i]));
  }
};
// Q4_K: the scale of elements 32c..32c+31 in every lane. Q6_K: sub-blocks 2j and 2j + 1 in
// lanes 0-7 and 8-15 (PairOfSubBlocks' layout).
constexpr Int16Broadcasts<8> kQ4_KScaleOf32(1, 0);
constexpr Int16Broadcasts<4> kQ6_KScalesOf32(2, 1);

// A Q4_K block's 8 scales (int16 lanes 0-7) and 8 minimums (lanes 8-15), as
// UnpackScaleMinK4 gives them. With 32-bit words w0..w2 of `scales`, in every byte:
// sc 0-3 = w0 & 63, sc 4-7 = (w2 & 15) | (w0 >> 6) << 4, mn 0-3 = w1 & 63,
// mn 4-7 = (w2 >> 4) | (w1 >> 6) << 4. Reads 16 bytes (the block's quants follow).
BATON_AVX2_INLINE inline __m256i Q4_KScalesAndMins(const uint8_t* scales) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales));
  const __m128i low = _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0));   // w0 w2 w1 w2
  const __m128i high = _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 0, 0));  // w0 w0 w1 w1
  const __m128i low_bits =
      _mm_and_si128(_mm_srlv_epi32(low, _mm_setr_epi32(0, 0, 0, 4)),
                    _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F));
  const __m128i high_bits =
      _mm_and_si128(_mm_srli_epi32(high, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  return _mm256_cvtepu8_epi16(_mm_or_si128(low_bits, high_bits));
}

// Asks for the super-block 1 KiB ahead of *b, every cache line of it (rows are contiguous:
// past a row's end is the next row, which the same thread reads next). The hardware prefetcher
// alone leaves these loops waiting on memory at batch 1.
template <typename Block>
BATON_AVX2_INLINE inline void PrefetchAhead(const Block* b) {
  const char* ahead = reinterpret_cast<const char*>(b) + 1024;
#pragma GCC unroll 4
  for (size_t line = 0; line < sizeof(Block); line += 64) _mm_prefetch(ahead + line, _MM_HINT_T0);
}

BATON_AVX2_INLINE inline int32_t SumInt32Lanes(__m128i v) {
  v = _mm_add_epi32(v, _mm_unpackhi_epi64(v, v));
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 1, 1)));
  return _mm_cvtsi128_si32(v);
}

BATON_AVX2_INLINE inline int32_t SumInt32Lanes(__m256i v) {
  return SumInt32Lanes(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}

// a * b + c rounded once, as _mm256_fmadd_ps does it in each lane.
BATON_AVX2_INLINE inline float Fma(float a, float b, float c) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

struct Q4_KDecode {
  using Block = BlockQ4_K;
  template <int NR>
  BATON_AVX2 static void Rows(const Block* blk, int64_t nb, const Q8Activations& q8, int64_t i0,
                              float* out, int64_t out_stride) {
    const avx2::ActivationRows<NR> x(q8, i0);
    float acc[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) acc[r] = 0.0f;
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (int64_t sb = 0; sb < nb; ++sb) {
      const Block& b = blk[sb];
      PrefetchAhead(&b);
      const __m256i scales_mins = Q4_KScalesAndMins(b.scales);
      const __m256i scales = _mm256_permute2x128_si256(scales_mins, scales_mins, 0x00);
      const __m128i mins = _mm256_extracti128_si256(scales_mins, 1);
      __m256i isum[NR];
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) isum[r] = _mm256_setzero_si256();
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        // Elements 64c..64c+31 (low nibbles, scale 2c) and 64c+32..64c+63 (high, 2c + 1).
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * c));
        const __m256i q_lo = _mm256_and_si256(v, low4);
        const __m256i q_hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        const __m256i s_lo = _mm256_shuffle_epi8(scales, kQ4_KScaleOf32[2 * c]);
        const __m256i s_hi = _mm256_shuffle_epi8(scales, kQ4_KScaleOf32[2 * c + 1]);
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) {
          const int8_t* xq = x.qs[r] + kQkK * sb + 64 * c;
          const __m256i x_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq));
          const __m256i x_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32));
          isum[r] = _mm256_add_epi32(isum[r],
                                     _mm256_madd_epi16(_mm256_maddubs_epi16(q_lo, x_lo), s_lo));
          isum[r] = _mm256_add_epi32(isum[r],
                                     _mm256_madd_epi16(_mm256_maddubs_epi16(q_hi, x_hi), s_hi));
        }
      }
      const float d = _cvtsh_ss(b.d);
      const float dmin = _cvtsh_ss(b.dmin);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        // |sum of 32 quants| <= 32 * 127: the sums fit int16 for one vpmaddwd with the mins.
        const __m256i sums =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.sum32[r] + 8 * sb));
        const __m128i sums16 =
            _mm_packs_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
        const int32_t m = SumInt32Lanes(_mm_madd_epi16(mins, sums16));
        const float dx = x.d[r][sb];
        acc[r] = Fma(static_cast<float>(SumInt32Lanes(isum[r])), d * dx, acc[r]);
        acc[r] = Fma(-static_cast<float>(m), dmin * dx, acc[r]);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) out[(i0 + r) * out_stride] = acc[r];
  }
};

// Q6_K's quants are unsigned 6-bit values less 32. The products take the unsigned values; the
// offset is taken off once per super-block and activation row, as 32 * the sum over its 16
// sub-blocks of scale * (sum of the sub-block's activation quants, Q8Activations::sum16): one
// vpmaddwd instead of a vpmaddubsw and a subtraction per 32 elements (the tiled kernel's
// integer total, reached in another order: integer sums are exact).
struct Q6_KDecode {
  using Block = BlockQ6_K;
  template <int NR>
  BATON_AVX2 static void Rows(const Block* blk, int64_t nb, const Q8Activations& q8, int64_t i0,
                              float* out, int64_t out_stride) {
    const avx2::ActivationRows<NR> x(q8, i0);
    const int16_t* xs[NR];
    float acc[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      acc[r] = 0.0f;
      xs[r] = q8.row_sum16(i0 + r);
    }
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i bits45 = _mm256_set1_epi8(0x30);
    for (int64_t sb = 0; sb < nb; ++sb) {
      const Block& b = blk[sb];
      PrefetchAhead(&b);
      const __m256i sc = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
      __m256i isum[NR];
      // |scale * sub-block sum| <= 128 * 16 * 127: pairs of them fit int32 even times 32.
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[r] + 16 * sb));
        isum[r] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                   _mm256_slli_epi32(_mm256_madd_epi16(sc, sums), 5));
      }
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        // Scales 8h..8h+7 in both halves.
        const __m256i half_scales = _mm256_permute2x128_si256(sc, sc, h == 0 ? 0x00 : 0x11);
        const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h));
        const __m256i ql1 =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
        // Unsigned 6-bit quants of elements 128h + 32j.. (the -32 offset is taken off the
        // products below).
        const __m256i q[4] = {
            _mm256_or_si256(_mm256_and_si256(ql0, low4),
                            _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45)),
            _mm256_or_si256(_mm256_and_si256(ql1, low4),
                            _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                            _mm256_and_si256(qh, bits45)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                            _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45))};
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          const __m256i s = _mm256_shuffle_epi8(half_scales, kQ6_KScalesOf32[j]);
#pragma GCC unroll 4
          for (int r = 0; r < NR; ++r) {
            const __m256i xq = _mm256_loadu_si256(
                reinterpret_cast<const __m256i*>(x.qs[r] + kQkK * sb + 128 * h + 32 * j));
            // Pair sums of q * x stay within int16 (63 * 127 * 2).
            isum[r] = _mm256_add_epi32(isum[r],
                                       _mm256_madd_epi16(_mm256_maddubs_epi16(q[j], xq), s));
          }
        }
      }
      const float d = _cvtsh_ss(b.d);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        acc[r] = Fma(static_cast<float>(SumInt32Lanes(isum[r])), d * x.d[r][sb], acc[r]);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) out[(i0 + r) * out_stride] = acc[r];
  }
};

// Up to 4 activation rows per pass over the weight row.
template <typename D>
BATON_AVX2 void KDecodeKernel(const uint8_t* w_row, const RowArgs& a, float* out,
                              int64_t out_stride) {
  const auto* blk = reinterpret_cast<const typename D::Block*>(w_row);
  const int64_t nb = a.k / kQkK;
  const int64_t end = a.i0 + a.m;
  int64_t i = a.i0;
  for (; i + 4 <= end; i += 4) D::template Rows<4>(blk, nb, *a.q8, i, out, out_stride);
  switch (end - i) {
    case 3: D::template Rows<3>(blk, nb, *a.q8, i, out, out_stride); break;
    case 2: D::template Rows<2>(blk, nb, *a.q8, i, out, out_stride); break;
    case 1: D::template Rows<1>(blk, nb, *a.q8, i, out, out_stride); break;
    default: break;
  }
}

}  // namespace

KernelChoice Avx2QuantKernel(TensorType t) {
  constexpr auto k32 = ActivationForm::kQ8Block32;
  constexpr auto k256 = ActivationForm::kQ8Block256;
  switch (t) {
    case TensorType::kQ4_0: return {Block32Kernel<Q4_0Avx2>, k32, 0, "avx2"};
    case TensorType::kQ4_1: return {Block32Kernel<Q4_1Avx2>, k32, 0, "avx2"};
    case TensorType::kQ5_0: return {Block32Kernel<Q5_0Avx2>, k32, 0, "avx2"};
    case TensorType::kQ5_1: return {Block32Kernel<Q5_1Avx2>, k32, 0, "avx2"};
    case TensorType::kQ8_0: return {Block32Kernel<Q8_0Avx2>, k32, 0, "avx2-ggml"};
    case TensorType::kIQ4_NL: return {Block32Kernel<IQ4_NLAvx2>, k32, 0, "avx2"};
    case TensorType::kQ2_K: return {KKernel<Q2_KAvx2>, k256, 0, "avx2"};
    case TensorType::kQ3_K: return {KKernel<Q3_KAvx2>, k256, 0, "avx2"};
    case TensorType::kQ4_K: return {KDecodeKernel<Q4_KDecode>, k256, 0, "avx2"};
    case TensorType::kQ5_K: return {KKernel<QK4Avx2<BlockQ5_K, true>>, k256, 0, "avx2"};
    case TensorType::kQ6_K: return {KDecodeKernel<Q6_KDecode>, k256, 0, "avx2"};
    case TensorType::kIQ4_XS: return {KKernel<IQ4_XSAvx2>, k256, 0, "avx2"};
    default: return {};
  }
}

}  // namespace baton::engine::kernels
