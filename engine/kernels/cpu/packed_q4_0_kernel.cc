// The kernel over Q4_0 weights repacked at load (tiled_kernels.h), one source compiled twice
// (BUILD.bazel), selected by BATON_PACKED_VNNI:
//   0  AVX2 (+FMA, F16C): one 8-row panel per pass in 256-bit vectors; per block, vpmaddubsw
//      into int16 lanes, widened once (vpmaddwd); 4 activation rows per pass;
//   1  AVX-512 BW + VNNI: two consecutive panels per pass in 512-bit vectors (lanes 0-7 from
//      the first, 8-15 from the second); vpdpbusd straight into int32 lanes started at the
//      offset -8 * (sum of the block's activation quants); 8 activation rows per pass. Below
//      kMinPairedRows activation rows it runs the AVX2 build.
// A panel is one contiguous stream: per block, the 8 rows' scales and 4 vectors of packed
// nibbles whose lane r belongs to row r. Each vector gives two vectors of unsigned nibbles (low:
// elements 4j..4j+3, high: 16+4j..16+4j+3 of every row), each multiplied by one broadcast of
// the 4 activation quants it meets, so one pass serves every weight row with no horizontal sums.
// Both builds form the same exact integer sum per (row, block) and end the block with the same
// float step (avx2::Q4_0FloatStep's, lane for lane), so their results are bit-identical to
// each other and to MatMul over the file. Each build defines one function
// (BATON_PACKED_KERNEL); callers check the CPU first.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "engine/kernels/cpu/avx2_tile_helpers.h"
#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/tiled_kernels.h"

#if !defined(BATON_PACKED_VNNI)
#error "BATON_PACKED_VNNI must be set to 0 or 1 by the cc_library compiling the kernel"
#endif

#if BATON_PACKED_VNNI
#define BATON_PACKED_TARGET "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#define BATON_PACKED_KERNEL PackedQ4_0Vnni
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_* helpers
// (as in matmul_avx512.cc).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#else
#define BATON_PACKED_TARGET "avx2,fma,f16c"
#define BATON_PACKED_KERNEL PackedQ4_0Avx2
#endif
#define BATON_PACKED __attribute__((target(BATON_PACKED_TARGET)))
#define BATON_PACKED_INLINE __attribute__((always_inline, target(BATON_PACKED_TARGET)))

namespace baton::engine::kernels {
namespace {

// Activation rows per pass: each vector's nibbles are unpacked once for them all.
constexpr int kActRows = BATON_PACKED_VNNI ? 8 : 4;
// Panels per pass.
constexpr int64_t kPassPanels = BATON_PACKED_VNNI ? 2 : 1;
#if BATON_PACKED_VNNI
// Activation rows from which the VNNI build pairs panels (below, it runs the AVX2 build; see
// the kernel).
constexpr int64_t kMinPairedRows = 4;
#endif

// How far ahead of the block being read the AVX2 build asks for the weights (its one stream
// continues into the next panel, which the same thread reads next; the VNNI build asks for the
// next two panels instead, see its PassRows).
constexpr int64_t kPrefetchBytes = 2048;

// Cache blocking for prompts: a group of panels (about kGroupBytes of weights) and a chunk of
// activation rows (about kChunkBytes of quants, scales and sums) both stay in L2 while every
// pass of the chunk over the group runs; the weights come from memory once, and a long
// prompt's activations (512 rows x 2.5 KB at k = 2048) are not streamed past each panel.
constexpr int64_t kGroupBytes = 256 << 10;
constexpr int64_t kChunkBytes = 256 << 10;

// Asks for the block (kPackedQ4_0BlockBytes) `distance` bytes past blk.
BATON_PACKED_INLINE inline void Prefetch(const uint8_t* blk, int64_t distance) {
  const char* ahead = reinterpret_cast<const char*>(blk) + distance;
  _mm_prefetch(ahead, _MM_HINT_T0);
  _mm_prefetch(ahead + 64, _MM_HINT_T0);
  _mm_prefetch(ahead + 128, _MM_HINT_T0);
}

#if BATON_PACKED_VNNI
// RA activation rows from i0 against the panels at panel0 and panel1 (weight rows r0 ..
// r0 + rows - 1, rows <= 16; panel1 == panel0 when only one is left, its lanes then unused),
// stored to y; the last pass of a chunk over them (`prefetch`) also asks for the next two
// panels, so that with several passes (16 rows of batched decode) the memory is not idle
// while the passes after the first run from cache.
// |a block's products| <= 32 * 15 * 127 fits the int32 lanes with room to spare.
template <int RA>
BATON_PACKED_INLINE inline void PassRows(const TileArgs& a, const uint8_t* panel0,
                                         const uint8_t* panel1, int64_t nb, int64_t i0,
                                         int64_t r0, int rows, bool prefetch) {
  const avx2::ActivationRows<RA> x(*a.q8, i0);
  __m512 acc[RA];
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) acc[j] = _mm512_setzero_ps();
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk0 = panel0 + b * kPackedQ4_0BlockBytes;
    const uint8_t* blk1 = panel1 + b * kPackedQ4_0BlockBytes;
    if (prefetch) {  // the same block of the next two panels
      Prefetch(blk0, 2 * nb * kPackedQ4_0BlockBytes);
      Prefetch(blk1, 2 * nb * kPackedQ4_0BlockBytes);
    }
    __m512i s[RA];
#pragma GCC unroll 8
    for (int j = 0; j < RA; ++j) s[j] = _mm512_slli_epi32(_mm512_set1_epi32(-x.sum32[j][b]), 3);
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      const __m512i packed = _mm512_inserti64x4(
          _mm512_castsi256_si512(
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk0 + 16 + 32 * v))),
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk1 + 16 + 32 * v)), 1);
      const __m512i lo = _mm512_and_si512(packed, nibble);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble);
#pragma GCC unroll 8
      for (int j = 0; j < RA; ++j) {
        const int8_t* q = x.qs[j] + kQk * b + 4 * v;
        int32_t q_lo, q_hi;
        std::memcpy(&q_lo, q, sizeof(q_lo));
        std::memcpy(&q_hi, q + 16, sizeof(q_hi));
        s[j] = _mm512_dpbusd_epi32(s[j], lo, _mm512_set1_epi32(q_lo));
        s[j] = _mm512_dpbusd_epi32(s[j], hi, _mm512_set1_epi32(q_hi));
      }
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk0))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk1)), 1));
    // avx2::Q4_0FloatStep's arithmetic on 16 lanes.
#pragma GCC unroll 8
    for (int j = 0; j < RA; ++j) {
      acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[j]),
                               _mm512_mul_ps(dw, _mm512_set1_ps(x.d[j][b])), acc[j]);
    }
  }
  const auto mask = static_cast<__mmask16>((1u << rows) - 1);
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) _mm512_mask_storeu_ps(a.y + (i0 + j) * a.n_rows + r0, mask, acc[j]);
}
#else
// The integer sums of one block for RA activation rows: lane r of s[j] = the exact dot of
// weight row r's unsigned nibbles with activation row j's quants, minus 8 * their sum (the
// weights' offset). Each vpmaddubsw lane and the int16 sum of 8 of them stay below 2^15
// (8 * 2 * 15 * 127).
template <int RA>
BATON_PACKED_INLINE inline void BlockSums(const uint8_t* blk, const avx2::ActivationRows<RA>& x,
                                          int64_t b, __m256i s[RA]) {
  const __m256i nibble = _mm256_set1_epi8(0x0F);
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) s[j] = _mm256_setzero_si256();
#pragma GCC unroll 4
  for (int v = 0; v < 4; ++v) {
    const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * v));
    const __m256i lo = _mm256_and_si256(packed, nibble);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
#pragma GCC unroll 8
    for (int j = 0; j < RA; ++j) {
      const int8_t* q = x.qs[j] + kQk * b + 4 * v;
      s[j] = _mm256_add_epi16(s[j], _mm256_maddubs_epi16(lo, avx2::BroadcastQuad(q)));
      s[j] = _mm256_add_epi16(s[j], _mm256_maddubs_epi16(hi, avx2::BroadcastQuad(q + 16)));
      avx2::KeepInRegister(s[j]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) s[j] = avx2::Q4_0OffsetSums(s[j], x.sum32[j] + b);
}

// RA activation rows from i0 against the panel at panel0 (rows <= 8; panel1 unused), stored
// to y; the first pass over a panel (`prefetch`) also asks for the weights ahead.
template <int RA>
BATON_PACKED_INLINE inline void PassRows(const TileArgs& a, const uint8_t* panel0,
                                         const uint8_t* /*panel1*/, int64_t nb, int64_t i0,
                                         int64_t r0, int rows, bool prefetch) {
  const avx2::ActivationRows<RA> x(*a.q8, i0);
  __m256 acc[RA];
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel0 + b * kPackedQ4_0BlockBytes;
    if (prefetch) Prefetch(blk, kPrefetchBytes);
    __m256i s[RA];
    BlockSums<RA>(blk, x, b, s);
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
#pragma GCC unroll 8
    for (int j = 0; j < RA; ++j) acc[j] = avx2::Q4_0FloatStep(s[j], dw, x.d[j][b], acc[j]);
  }
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) avx2::StoreRows(acc[j], rows, a.y + (i0 + j) * a.n_rows + r0);
}
#endif

// Activation rows [i0, i1) over one pass's panels, kActRows at a time, then the rest in one
// pass.
template <int... RA>
BATON_PACKED_INLINE inline void Passes(const TileArgs& a, const uint8_t* panel0,
                                       const uint8_t* panel1, int64_t nb, int64_t i0,
                                       int64_t i1, int64_t r0, int rows,
                                       std::integer_sequence<int, RA...>) {
  int64_t i = i0;
  // The pass that prefetches: AVX2 the first of all (2 KB ahead in its one stream), VNNI the
  // chunk's last (the next two panels).
  auto prefetches = [i1](int64_t i, int ra) { return BATON_PACKED_VNNI ? i + ra == i1 : i == 0; };
  for (; i + kActRows <= i1; i += kActRows) {
    PassRows<kActRows>(a, panel0, panel1, nb, i, r0, rows, prefetches(i, kActRows));
  }
  const int64_t rest = i1 - i;
  // One pass of exactly `rest` rows (the fold picks the matching instantiation).
  ((rest == RA + 1
        ? PassRows<RA + 1>(a, panel0, panel1, nb, i, r0, rows, prefetches(i, RA + 1))
        : void()),
   ...);
}

}  // namespace

BATON_PACKED void BATON_PACKED_KERNEL(const TileArgs& a, int64_t r0, int64_t r1) {
#if BATON_PACKED_VNNI
  // With a few activation rows (decode) the weights stream from memory faster one panel, one
  // stream, at a time: the AVX2 build, whose results are the same. matmul_bench, 2 threads, the
  // output shape (128256 x 2048) from memory, paired against one panel: 1 row 22-23 against
  // 23-30 GB/s, 2 rows 18-20 against 21-22, 4 rows 19 against 16-21, 8 rows 13-14 against 9.
  if (a.m < kMinPairedRows) {
    PackedQ4_0Avx2(a, r0, r1);
    return;
  }
#endif
  const int64_t nb = a.k / kQk;
  const int64_t panel_bytes = nb * kPackedQ4_0BlockBytes;
  constexpr int64_t kPassRows = kPassPanels * kPanelRows;
  const int64_t group_rows = std::max<int64_t>(1, kGroupBytes / panel_bytes / kPassPanels) *
                             kPassRows;
  // An activation row's quants, block scales and block sums.
  const int64_t act_row_bytes = a.k + nb * 2 * static_cast<int64_t>(sizeof(float));
  const int64_t chunk = std::max<int64_t>(1, kChunkBytes / act_row_bytes / kActRows) * kActRows;
  for (int64_t g0 = r0; g0 < r1; g0 += group_rows) {
    const int64_t g1 = std::min(r1, g0 + group_rows);
    for (int64_t c0 = 0; c0 < a.m; c0 += chunk) {
      const int64_t c1 = std::min(a.m, c0 + chunk);
      for (int64_t p = g0; p < g1; p += kPassRows) {
        const int rows = static_cast<int>(std::min(kPassRows, r1 - p));
        const uint8_t* panel0 = a.w + p / kPanelRows * panel_bytes;
        // The pass's second panel, or the first again when this one is the range's last.
        const uint8_t* panel1 = rows > kPanelRows ? panel0 + panel_bytes : panel0;
        Passes(a, panel0, panel1, nb, c0, c1, p, rows,
               std::make_integer_sequence<int, kActRows - 1>());
      }
    }
  }
}

}  // namespace baton::engine::kernels
