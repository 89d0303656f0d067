// The kernel over Q4_0 weights repacked at load (tiled_kernels.h), one source compiled twice
// (BUILD.bazel), selected by BATON_PACKED_VNNI:
//   0  AVX2 (+FMA, F16C): per block, vpmaddubsw into int16 lanes, widened once (vpmaddwd);
//      4 activation rows per pass (16 vector registers);
//   1  AVX-512 VL + VNNI on 256-bit vectors: vpdpbusd straight into int32 lanes started at the
//      offset -8 * (sum of the block's activation quants); 8 activation rows per pass (the 32
//      vector registers AVX-512 gives).
// A panel is one contiguous stream: per block, the 8 rows' scales and 4 vectors of packed
// nibbles whose lane r belongs to row r. Each vector gives two vectors of unsigned nibbles (low:
// elements 4j..4j+3, high: 16+4j..16+4j+3 of every row), each multiplied by one broadcast of
// the 4 activation quants it meets, so one pass serves 8 weight rows with no horizontal sums.
// Both builds form the same exact integer sum per (row, block) and end the block with
// avx2::Q4_0FloatStep, so their results are bit-identical to each other and to MatMul over the
// file. Each build defines one function (BATON_PACKED_KERNEL); callers check the CPU first.
#include <immintrin.h>

#include <algorithm>

#include "engine/kernels/cpu/avx2_tile_helpers.h"
#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/tiled_kernels.h"

#if !defined(BATON_PACKED_VNNI)
#error "BATON_PACKED_VNNI must be set to 0 or 1 by the cc_library compiling the kernel"
#endif

#if BATON_PACKED_VNNI
#define BATON_PACKED_TARGET "avx2,fma,f16c,avx512f,avx512vl,avx512vnni"
#define BATON_PACKED_KERNEL PackedQ4_0Vnni
#else
#define BATON_PACKED_TARGET "avx2,fma,f16c"
#define BATON_PACKED_KERNEL PackedQ4_0Avx2
#endif
#define BATON_PACKED __attribute__((target(BATON_PACKED_TARGET)))
#define BATON_PACKED_INLINE __attribute__((always_inline, target(BATON_PACKED_TARGET)))

namespace baton::engine::kernels {
namespace {

using avx2::BroadcastQuad;
using avx2::KeepInRegister;

// Activation rows per pass over a panel: each vector's nibbles are unpacked once for them all.
constexpr int kActRows = BATON_PACKED_VNNI ? 8 : 4;

// How far ahead of the block being read the weights are asked for (the stream continues into
// the next panel, which the same thread reads next).
constexpr int64_t kPrefetchBytes = 2048;

// Cache blocking for prompts: a group of panels (about kGroupBytes of weights) and a chunk of
// activation rows (about kChunkBytes of quants, scales and sums) both stay in L2 while every
// pass of the chunk over the group runs; the weights come from memory once, and a long
// prompt's activations (512 rows x 2.5 KB at k = 2048) are not streamed past each panel.
constexpr int64_t kGroupBytes = 256 << 10;
constexpr int64_t kChunkBytes = 256 << 10;

// The integer sums of one block for RA activation rows: lane r of s[j] = the exact dot of
// weight row r's unsigned nibbles with activation row j's quants, minus 8 * their sum (the
// weights' offset). |a block's products| <= 32 * 15 * 127, within int16 pairs (AVX2 build:
// each vpmaddubsw lane and the int16 sum of 8 of them stay below 2^15).
template <int RA>
BATON_PACKED_INLINE inline void BlockSums(const uint8_t* blk, const avx2::ActivationRows<RA>& x,
                                          int64_t b, __m256i s[RA]) {
  const __m256i nibble = _mm256_set1_epi8(0x0F);
#if BATON_PACKED_VNNI
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) {
    s[j] = _mm256_slli_epi32(_mm256_set1_epi32(-x.sum32[j][b]), 3);
  }
#else
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) s[j] = _mm256_setzero_si256();
#endif
#pragma GCC unroll 4
  for (int v = 0; v < 4; ++v) {
    const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * v));
    const __m256i lo = _mm256_and_si256(packed, nibble);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
#pragma GCC unroll 8
    for (int j = 0; j < RA; ++j) {
      const int8_t* q = x.qs[j] + kQk * b + 4 * v;
#if BATON_PACKED_VNNI
      s[j] = _mm256_dpbusd_epi32(s[j], lo, BroadcastQuad(q));
      s[j] = _mm256_dpbusd_epi32(s[j], hi, BroadcastQuad(q + 16));
#else
      s[j] = _mm256_add_epi16(s[j], _mm256_maddubs_epi16(lo, BroadcastQuad(q)));
      s[j] = _mm256_add_epi16(s[j], _mm256_maddubs_epi16(hi, BroadcastQuad(q + 16)));
#endif
      KeepInRegister(s[j]);
    }
  }
#if !BATON_PACKED_VNNI
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) s[j] = avx2::Q4_0OffsetSums(s[j], x.sum32[j] + b);
#endif
}

// RA activation rows from i0 against one packed panel of nb blocks, stored to y; the first
// pass over a panel (`prefetch`) also asks for the weights ahead.
template <int RA>
BATON_PACKED_INLINE inline void PassRows(const TileArgs& a, const uint8_t* panel, int64_t nb,
                                         int64_t i0, int64_t r0, int rows, bool prefetch) {
  const avx2::ActivationRows<RA> x(*a.q8, i0);
  __m256 acc[RA];
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + b * kPackedQ4_0BlockBytes;
    if (prefetch) {
      const char* ahead = reinterpret_cast<const char*>(blk) + kPrefetchBytes;
      _mm_prefetch(ahead, _MM_HINT_T0);
      _mm_prefetch(ahead + 64, _MM_HINT_T0);
      _mm_prefetch(ahead + 128, _MM_HINT_T0);
    }
    __m256i s[RA];
    BlockSums<RA>(blk, x, b, s);
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
#pragma GCC unroll 8
    for (int j = 0; j < RA; ++j) acc[j] = avx2::Q4_0FloatStep(s[j], dw, x.d[j][b], acc[j]);
  }
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) avx2::StoreRows(acc[j], rows, a.y + (i0 + j) * a.n_rows + r0);
}

// Activation rows [i0, i1) over one panel, kActRows at a time, then the rest in one pass.
template <int... RA>
BATON_PACKED_INLINE inline void PanelPasses(const TileArgs& a, const uint8_t* panel, int64_t nb,
                                            int64_t i0, int64_t i1, int64_t r0, int rows,
                                            std::integer_sequence<int, RA...>) {
  int64_t i = i0;
  for (; i + kActRows <= i1; i += kActRows) {
    PassRows<kActRows>(a, panel, nb, i, r0, rows, i == 0);
  }
  const int64_t rest = i1 - i;
  // One pass of exactly `rest` rows (the fold picks the matching instantiation).
  ((rest == RA + 1 ? PassRows<RA + 1>(a, panel, nb, i, r0, rows, i == 0) : void()), ...);
}

}  // namespace

BATON_PACKED void BATON_PACKED_KERNEL(const TileArgs& a, int64_t r0, int64_t r1) {
  const int64_t nb = a.k / kQk;
  const int64_t panel_bytes = nb * kPackedQ4_0BlockBytes;
  const int64_t group_rows = std::max<int64_t>(1, kGroupBytes / panel_bytes) * kPanelRows;
  // An activation row's quants, block scales and block sums.
  const int64_t act_row_bytes = a.k + nb * 2 * static_cast<int64_t>(sizeof(float));
  const int64_t chunk = std::max<int64_t>(1, kChunkBytes / act_row_bytes / kActRows) * kActRows;
  for (int64_t g0 = r0; g0 < r1; g0 += group_rows) {
    const int64_t g1 = std::min(r1, g0 + group_rows);
    for (int64_t c0 = 0; c0 < a.m; c0 += chunk) {
      const int64_t c1 = std::min(a.m, c0 + chunk);
      for (int64_t p = g0; p < g1; p += kPanelRows) {
        const int rows = static_cast<int>(std::min<int64_t>(kPanelRows, r1 - p));
        PanelPasses(a, a.w + p / kPanelRows * panel_bytes, nb, c0, c1, p, rows,
                    std::make_integer_sequence<int, kActRows - 1>());
      }
    }
  }
}

}  // namespace baton::engine::kernels
