// The quantized types' tiled kernels (tiled_kernels.h), one source compiled twice (BUILD.bazel),
// selected by BATON_TILES_VNNI:
//   0  AVX2 (+FMA, F16C), 16 vector registers;
//   1  AVX-512 BW + VL + VNNI: for Q4_K and Q6_K the same 256-bit vectors, the 32 registers
//      AVX-512 gives holding more activation rows per pass over a panel, with vpdpbusd; Q8_0
//      takes two panels per pass in 512-bit vectors (Q8_0PairTiled).
// Both builds form the same exact integer sums and the same float steps, so their results are
// bit-identical. Panels interleave kPanelRows weight rows so that 32-bit lane r of every vector
// belongs to row r: for the 32-element block types, panel vector (b, g) holds elements
// 4g..4g+3 of block b of each row, and a broadcast of the same 4 activation quants multiplies
// all 8 rows at once (vpmaddubsw, vpmaddwd). Every function carries the build's target
// attribute; callers reach them only after the CPU check (tiled_kernel_choice.cc).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/kernels/cpu/avx2_tile_helpers.h"
#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/tiled_kernels.h"

#if !defined(BATON_TILES_VNNI)
#error "BATON_TILES_VNNI must be set to 0 or 1 by the cc_library compiling the kernels"
#endif

#if BATON_TILES_VNNI
#define BATON_TILE_TARGET "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#define BATON_QUANT_TILES kAvx512VnniQuantTiles
#define BATON_TILE_NAME(suffix) "avx512vnni-" suffix
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_* helpers
// (as in matmul_avx512.cc).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#else
#define BATON_TILE_TARGET "avx2,fma,f16c"
#define BATON_QUANT_TILES kAvx2QuantTiles
#define BATON_TILE_NAME(suffix) "avx2-" suffix
#endif
#define BATON_TILE __attribute__((target(BATON_TILE_TARGET)))
#define BATON_TILE_INLINE __attribute__((always_inline, target(BATON_TILE_TARGET)))

namespace baton::engine::kernels {
namespace {

// Activation rows per pass over a panel where registers bound them: (AVX2, AVX-512).
constexpr int ActRowsFor(int avx2, int avx512) { return BATON_TILES_VNNI ? avx512 : avx2; }

using avx2::BroadcastQuad;
using avx2::KeepInRegister;
using avx2::StoreRows;

// In place: v[r] lane g becomes v[g] lane r (8 x 8 32-bit lanes).
BATON_TILE_INLINE inline void Transpose8x8(__m256i v[8]) {
  __m256 a[8], b[8];
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) {
    a[2 * i] = _mm256_unpacklo_ps(_mm256_castsi256_ps(v[2 * i]), _mm256_castsi256_ps(v[2 * i + 1]));
    a[2 * i + 1] =
        _mm256_unpackhi_ps(_mm256_castsi256_ps(v[2 * i]), _mm256_castsi256_ps(v[2 * i + 1]));
  }
#pragma GCC unroll 2
  for (int i = 0; i < 2; ++i) {
    b[4 * i] = _mm256_shuffle_ps(a[4 * i], a[4 * i + 2], 0x44);
    b[4 * i + 1] = _mm256_shuffle_ps(a[4 * i], a[4 * i + 2], 0xEE);
    b[4 * i + 2] = _mm256_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0x44);
    b[4 * i + 3] = _mm256_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0xEE);
  }
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_castps_si256(_mm256_permute2f128_ps(b[i], b[i + 4], 0x20));
    v[i + 4] = _mm256_castps_si256(_mm256_permute2f128_ps(b[i], b[i + 4], 0x31));
  }
}

// Packs blocks of a panel: Decode(row, b) gives block b of a row as 32 bytes in element
// order; rows past `rows` are zero (with zero scales). Panel vector (b, g) lands at
// q[(b * 8 + g) * stride], block b's 8 scales at d + b * d_stride.
template <typename D>
BATON_TILE_INLINE inline void PackBlock32Panel(const TileArgs& a, int64_t r0, int rows,
                                               int stride, __m256i* q, float* d,
                                               int64_t d_stride = kPanelRows) {
  const int64_t nb = a.k / kQk;
  const typename D::Block* blk[kPanelRows];
  for (int r = 0; r < kPanelRows; ++r) {
    blk[r] = reinterpret_cast<const typename D::Block*>(a.w + (r0 + std::min(r, rows - 1)) *
                                                                  a.row_bytes);
  }
  for (int64_t b = 0; b < nb; ++b) {
    __m256i v[kPanelRows];
    alignas(32) float scales[kPanelRows];
#pragma GCC unroll 8
    for (int r = 0; r < kPanelRows; ++r) {
      v[r] = r < rows ? D::Bytes(blk[r][b]) : _mm256_setzero_si256();
      scales[r] = r < rows ? _cvtsh_ss(blk[r][b].d) : 0.0f;
    }
    Transpose8x8(v);
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) q[(b * 8 + g) * stride] = v[g];
    std::memcpy(d + b * d_stride, scales, sizeof(scales));
  }
}

// ---- Q4_0: unsigned nibbles against signed quants, offset folded in per block. ----
struct Q4_0Tiles {
  using Block = BlockQ4_0;
  static constexpr int kStride = 1;       // panel vectors per (block, group)
  static constexpr int kActRows = 4;      // activation rows per pass over a panel
  static constexpr bool kDirect = true;   // fewer rows take Q4_0DirectRow
  // The 32 nibbles in element order (low nibbles are elements 0-15), unsigned 0..15.
  // The 16 bytes go to both halves (one broadcast load), the high half shifted by a nibble.
  BATON_TILE_INLINE static __m256i Bytes(const Block& b) {
    const __m256i both = _mm256_broadcastsi128_si256(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)));
    return _mm256_and_si256(_mm256_srlv_epi64(both, _mm256_set_epi64x(4, 4, 0, 0)),
                            _mm256_set1_epi8(0x0F));
  }
  // |sum of 8 vpmaddubsw lanes| <= 8 * 2 * 15 * 127 < 2^15: a block's products fit int16.
  template <int RA>
  BATON_TILE_INLINE static void Rows(const __m256i* pq, const float* pd, int64_t nb,
                                     const Q8Activations& q8, int64_t i0, __m256 out[RA]) {
    const avx2::ActivationRows<RA> x(q8, i0);
    __m256 acc[RA];  // local, so the accumulators stay in registers
#pragma GCC unroll 8
    for (int j = 0; j < RA; ++j) acc[j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      __m256i s16[RA];
#pragma GCC unroll 8
      for (int j = 0; j < RA; ++j) s16[j] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int g = 0; g < 8; ++g) {
        const __m256i w = _mm256_load_si256(pq + b * 8 + g);
#pragma GCC unroll 8
        for (int j = 0; j < RA; ++j) {
          s16[j] = _mm256_add_epi16(
              s16[j], _mm256_maddubs_epi16(w, BroadcastQuad(x.qs[j] + kQk * b + 4 * g)));
          KeepInRegister(s16[j]);
        }
      }
      const __m256 dw = _mm256_load_ps(pd + b * kPanelRows);
#pragma GCC unroll 8
      for (int j = 0; j < RA; ++j) {
        acc[j] = avx2::Q4_0BlockStep(s16[j], x.sum32[j] + b, dw, x.d[j][b], acc[j]);
      }
    }
#pragma GCC unroll 8
    for (int j = 0; j < RA; ++j) out[j] = acc[j];
  }
};

// 32-bit lane r of the result = the sum of the 16 int16 lanes of v[r], exactly, given
// |lane| <= 4095 (a vpmaddubsw of nibbles and int8 quants: 2 * 15 * 127). Three rounds of
// pairwise int16 sums stay below 2^15 (8 lanes <= 32760); each half's 8 sums are widened to
// int32 before the last addition.
BATON_TILE_INLINE inline __m256i SumInt16LanesOfEach(const __m256i v[8]) {
  const __m256i a = _mm256_hadd_epi16(_mm256_hadd_epi16(v[0], v[1]), _mm256_hadd_epi16(v[2], v[3]));
  const __m256i b = _mm256_hadd_epi16(_mm256_hadd_epi16(v[4], v[5]), _mm256_hadd_epi16(v[6], v[7]));
  // Each 128-bit half: rows 0-7 summed over that half's 8 lanes.
  const __m256i h = _mm256_hadd_epi16(a, b);
  return _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(h)),
                          _mm256_cvtepi16_epi32(_mm256_extracti128_si256(h, 1)));
}

// Q4_0 for one activation row without packing a panel (a pass or two cost less than packing):
// each row's block is dotted with the activation block, the 8 rows' integer sums are gathered
// into lanes, and the float step is the panel kernel's, so results are bit-identical to it and
// a product does not depend on how many rows were batched with it.
BATON_TILE void Q4_0DirectRow(const TileArgs& a, int64_t r0, int rows, int64_t i) {
  const int64_t nb = a.k / kQk;
  const BlockQ4_0* blk[kPanelRows];
  for (int r = 0; r < kPanelRows; ++r) {
    blk[r] = reinterpret_cast<const BlockQ4_0*>(a.w + (r0 + std::min(r, rows - 1)) * a.row_bytes);
  }
  const int8_t* xq = a.q8->row_qs(i);
  const float* xd = a.q8->row_d(i);
  const int32_t* xs = a.q8->row_sum32(i);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + kQk * b));
    __m256i dots[kPanelRows];
#pragma GCC unroll 8
    for (int r = 0; r < kPanelRows; ++r) {
      dots[r] = _mm256_maddubs_epi16(Q4_0Tiles::Bytes(blk[r][b]), x);
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_setr_epi16(
        blk[0][b].d, blk[1][b].d, blk[2][b].d, blk[3][b].d, blk[4][b].d, blk[5][b].d,
        blk[6][b].d, blk[7][b].d));
    const __m256i s32 = _mm256_sub_epi32(SumInt16LanesOfEach(dots), _mm256_set1_epi32(8 * xs[b]));
    acc = avx2::Q4_0FloatStep(s32, dw, xd[b], acc);
  }
  StoreRows(acc, rows, a.y + i * a.n_rows + r0);
}

// ---- Q8_0: the row kernel's arithmetic, lane for lane. ----
// Lane l of the row kernel's accumulator for weight row r is lane r of acc_l here: each takes
// fma(d_w * d_x, float(exact dot of elements 4l..4l+3)) per block, in block order, and the
// 8 accumulators are then added in SumLanesGgmlOrder's order. Panel vectors come in pairs
// (w, |w|) for vpmaddubsw's unsigned operand.
struct Q8_0Tiles {
  using Block = BlockQ8_0;
  static constexpr int kStride = 2;
  static constexpr int kActRows = 1;  // 8 accumulators per activation row
  static constexpr bool kDirect = false;
  BATON_TILE_INLINE static __m256i Bytes(const Block& b) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
  }
  template <int RA>
  BATON_TILE_INLINE static void Rows(const __m256i* pq, const float* pd, int64_t nb,
                                     const Q8Activations& q8, int64_t i0, __m256 out[RA]) {
    static_assert(RA == 1);
    const int8_t* xq = q8.row_qs(i0);
    const float* xd = q8.row_d(i0);
    __m256 acc[8];
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) acc[l] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t b = 0; b < nb; ++b) {
      const __m256 scale = _mm256_mul_ps(_mm256_load_ps(pd + b * kPanelRows), _mm256_set1_ps(xd[b]));
#pragma GCC unroll 8
      for (int l = 0; l < 8; ++l) {
        const __m256i w = _mm256_load_si256(pq + (b * 8 + l) * 2);
        const __m256i w_abs = _mm256_load_si256(pq + (b * 8 + l) * 2 + 1);
        const __m256i x = BroadcastQuad(xq + kQk * b + 4 * l);
        const __m256i s =
            _mm256_madd_epi16(_mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(x, w)), ones);
        acc[l] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(s), acc[l]);
      }
    }
    // ((l4 + l0) + (l6 + l2)) + ((l5 + l1) + (l7 + l3)), then + 0.0f as the row kernel adds
    // its (zero) minimum term.
    const __m256 even = _mm256_add_ps(_mm256_add_ps(acc[4], acc[0]), _mm256_add_ps(acc[6], acc[2]));
    const __m256 odd = _mm256_add_ps(_mm256_add_ps(acc[5], acc[1]), _mm256_add_ps(acc[7], acc[3]));
    out[0] = _mm256_add_ps(_mm256_add_ps(even, odd), _mm256_setzero_ps());
  }
  // After packing: the odd vectors of each pair become |w|.
  BATON_TILE_INLINE static void Finish(__m256i* pq, int64_t nb) {
    for (int64_t v = 0; v < nb * 8; ++v) pq[2 * v + 1] = _mm256_sign_epi8(pq[2 * v], pq[2 * v]);
  }
};

template <typename T>
BATON_TILE_INLINE inline void FinishPanel(__m256i* pq, int64_t nb) {
  if constexpr (T::kStride == 2) T::Finish(pq, nb);
}

// Calls pass(std::integral_constant<int, RA>(), i) for activation rows [0, m): passes of kMax
// rows, then one pass of the rest (a pass serves RA rows at once).
template <int kMax, typename Pass, int... R>
BATON_TILE_INLINE inline void ForEachPass(int64_t m, Pass&& pass, std::integer_sequence<int, R...>) {
  int64_t i = 0;
  for (; i + kMax <= m; i += kMax) pass(std::integral_constant<int, kMax>(), i);
  const int64_t rest = m - i;
  ((rest == R + 1 ? pass(std::integral_constant<int, R + 1>(), i) : void()), ...);
}
template <int kMax, typename Pass>
BATON_TILE_INLINE inline void ForEachPass(int64_t m, Pass&& pass) {
  ForEachPass<kMax>(m, pass, std::make_integer_sequence<int, kMax - 1>());
}

template <typename T, int RA>
BATON_TILE_INLINE inline void PassRows(const TileArgs& a, const __m256i* pq, const float* pd,
                                       int64_t nb, int64_t i0, int64_t r0, int rows) {
  __m256 acc[RA];
  T::template Rows<RA>(pq, pd, nb, *a.q8, i0, acc);
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) StoreRows(acc[j], rows, a.y + (i0 + j) * a.n_rows + r0);
}

// Asks for the next panel's weight rows (those of [r, min(r + kPanelRows, r1))) while this
// one is computed: packing reads 8 rows at once, which the hardware prefetcher follows poorly,
// and with few activation rows (batched decode) that wait would dominate.
inline void PrefetchRows(const TileArgs& a, int64_t r, int64_t r1) {
  const int64_t end = std::min(r + kPanelRows, r1);
  if (r >= end) return;
  const uint8_t* begin = a.w + r * a.row_bytes;
  const uint8_t* stop = a.w + end * a.row_bytes;
  for (const uint8_t* p = begin; p < stop; p += 64) _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T1);
}

// A per-thread buffer of at least `bytes`, 32-byte aligned (std::vector does not promise
// over-aligned storage for vector types here). Reused across calls on the thread.
void* PanelScratch(size_t bytes) {
  thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < bytes + 32) buffer.resize(bytes + 32);
  const uintptr_t p = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + ((32 - p % 32) % 32);
}

template <typename T>
BATON_TILE void Block32Tiled(const TileArgs& a, int64_t r0, int64_t r1) {
  const int64_t nb = a.k / kQk;
  const size_t q_bytes = nb * 8 * T::kStride * sizeof(__m256i);
  auto* pq = static_cast<__m256i*>(PanelScratch(q_bytes + nb * kPanelRows * sizeof(float)));
  float* pd = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(pq) + q_bytes);
  for (int64_t p = r0; p < r1; p += kPanelRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kPanelRows, r1 - p));
    if constexpr (T::kDirect) {
      if (a.m < T::kActRows) {
        for (int64_t i = 0; i < a.m; ++i) Q4_0DirectRow(a, p, rows, i);
        continue;
      }
    }
    PackBlock32Panel<T>(a, p, rows, T::kStride, pq, pd);
    FinishPanel<T>(pq, nb);
    PrefetchRows(a, p + kPanelRows, r1);
    ForEachPass<T::kActRows>(a.m, [&](auto ra, int64_t i) BATON_TILE_INLINE {
      PassRows<T, decltype(ra)::value>(a, pq, pd, nb, i, p, rows);
    });
  }
}

#if BATON_TILES_VNNI
// ---- Q8_0 on AVX-512: two panels per pass, the row kernel's arithmetic lane for lane. ----
// Panel vectors of two consecutive panels interleave (vector (b, l) of the first, then of the
// second: one 512-bit load, lanes 0-7 the first panel's rows, 8-15 the second's), as bytes
// w + 128 (unsigned), so one vpdpbusd started at the activations' correction (-128 * the sum of
// the 4 quants, Q8Activations::corr with bias 128) gives each 4-quant dot exactly, without
// Q8_0Tiles' |w| and vpsignb. Then, as there: per lane l of a block, fma(d_w * d_x, dot, acc_l),
// in block order, and the 8 lanes added in SumLanesGgmlOrder's order: Q8_0Tiles' results (and
// the row kernels'), bit for bit.
constexpr int kQ8_0PairActRows = 3;

template <int RA>
BATON_TILE_INLINE inline void Q8_0PairRows(const TileArgs& a, const __m256i* pq, const float* pd,
                                           int64_t nb, int64_t i0, int64_t r0, int rows) {
  const int8_t* xq[RA];
  const int32_t* xc[RA];
  const float* xd[RA];
  __m512 acc[RA][8];
#pragma GCC unroll 4
  for (int j = 0; j < RA; ++j) {
    xq[j] = a.q8->row_qs(i0 + j);
    xc[j] = a.q8->row_corr(i0 + j);
    xd[j] = a.q8->row_d(i0 + j);
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) acc[j][l] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const __m512 dw = _mm512_loadu_ps(pd + b * 2 * kPanelRows);
    __m512 scale[RA];
#pragma GCC unroll 4
    for (int j = 0; j < RA; ++j) scale[j] = _mm512_mul_ps(dw, _mm512_set1_ps(xd[j][b]));
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) {
      const __m512i w = _mm512_loadu_si512(pq + (b * 8 + l) * 2);
#pragma GCC unroll 4
      for (int j = 0; j < RA; ++j) {
        int32_t quad;
        std::memcpy(&quad, xq[j] + kQk * b + 4 * l, sizeof(quad));
        const __m512i dot =
            _mm512_dpbusd_epi32(_mm512_set1_epi32(xc[j][b * 8 + l]), w, _mm512_set1_epi32(quad));
        acc[j][l] = _mm512_fmadd_ps(scale[j], _mm512_cvtepi32_ps(dot), acc[j][l]);
      }
    }
  }
  const auto mask = static_cast<__mmask16>((1u << rows) - 1);
#pragma GCC unroll 4
  for (int j = 0; j < RA; ++j) {
    const __m512* v = acc[j];
    const __m512 even = _mm512_add_ps(_mm512_add_ps(v[4], v[0]), _mm512_add_ps(v[6], v[2]));
    const __m512 odd = _mm512_add_ps(_mm512_add_ps(v[5], v[1]), _mm512_add_ps(v[7], v[3]));
    _mm512_mask_storeu_ps(a.y + (i0 + j) * a.n_rows + r0, mask,
                          _mm512_add_ps(_mm512_add_ps(even, odd), _mm512_setzero_ps()));
  }
}

BATON_TILE void Q8_0PairTiled(const TileArgs& a, int64_t r0, int64_t r1) {
  const int64_t nb = a.k / kQk;
  const size_t q_bytes = nb * 8 * 2 * sizeof(__m256i);
  auto* pq = static_cast<__m256i*>(PanelScratch(q_bytes + nb * 2 * kPanelRows * sizeof(float)));
  float* pd = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(pq) + q_bytes);
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t p = r0; p < r1; p += 2 * kPanelRows) {
    const int rows = static_cast<int>(std::min<int64_t>(2 * kPanelRows, r1 - p));
    // The second panel, or the first again when it is the range's last (its lanes unused).
    const int64_t p1 = rows > kPanelRows ? p + kPanelRows : p;
    const int rows0 = std::min<int>(rows, kPanelRows);
    PackBlock32Panel<Q8_0Tiles>(a, p, rows0, 2, pq, pd, 2 * kPanelRows);
    PackBlock32Panel<Q8_0Tiles>(a, p1, p1 == p ? rows0 : rows - kPanelRows, 2, pq + 1,
                                pd + kPanelRows, 2 * kPanelRows);
    for (int64_t v = 0; v < nb * 8 * 2; ++v) pq[v] = _mm256_xor_si256(pq[v], bias);
    PrefetchRows(a, p + 2 * kPanelRows, r1);
    PrefetchRows(a, p + 3 * kPanelRows, r1);
    ForEachPass<kQ8_0PairActRows>(a.m, [&](auto ra, int64_t i) BATON_TILE_INLINE {
      Q8_0PairRows<decltype(ra)::value>(a, pq, pd, nb, i, p, rows);
    });
  }
}
#endif

// ---- Q4_K / Q6_K: 256-element super-blocks with integer sub-block scales. ----
// Panel per super-block: the quants as unsigned bytes in (sub-block, group of 4) vectors as
// above, then per sub-block a vector of the 8 rows' scales as int16 pairs (lanes 2r, 2r + 1 =
// row r's scale), so one vpmaddwd turns a sub-block's int16 products into scaled int32 sums;
// then kKMinVectors vectors of row terms multiplied by the activations' per-sub-block quant
// sums (Q4_K: the minimums, Q6_K: the scales for the -32 offset), two sub-blocks per vector;
// then d and dmin (Q4_K) as 8 floats each. Exact integer sums per super-block, one float step.
struct KPanelLayout {
  int quants;  // vectors of quants per super-block (256 / 4 / 8 = 8 per 32 elements)
  int scales;  // scale vectors per super-block
  int terms;   // min/offset term vectors per super-block
  int Vectors() const { return quants + scales + terms + 2; }  // + d and dmin
};

// The int16 lanes of one panel vector.
using Lanes16 = int16_t[16];

// Row r's value v placed twice, at int16 lanes 2r and 2r + 1.
inline void SetPair(Lanes16& lanes, int r, int16_t v) { lanes[2 * r] = lanes[2 * r + 1] = v; }
// Row r's two values (a for the even sub-block, b for the odd one) at lanes 2r, 2r + 1.
inline void SetTwo(Lanes16& lanes, int r, int16_t a, int16_t b) {
  lanes[2 * r] = a;
  lanes[2 * r + 1] = b;
}

struct Q4_KTiles {
  using Block = BlockQ4_K;
  static constexpr KPanelLayout kLayout{64, 8, 4};
  static constexpr int kSubBlock = 32;  // elements per scale
  static constexpr int kActRows = ActRowsFor(4, 8);
  // Sub-block s of a row as 32 unsigned bytes (low nibbles are the even sub-blocks).
  BATON_TILE_INLINE static __m256i SubBlock(const Block& b, int s) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * (s / 2)));
    return _mm256_and_si256(s % 2 == 0 ? v : _mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
  }
  BATON_TILE static void Scales(const Block& b, int r, Lanes16* scales, Lanes16* terms, float* d,
                     float* dmin) {
    uint8_t sc[8], mn[8];
    for (int s = 0; s < 8; ++s) UnpackScaleMinK4(b.scales, s, &sc[s], &mn[s]);
    for (int s = 0; s < 8; ++s) SetPair(scales[s], r, sc[s]);
    for (int p = 0; p < 4; ++p) SetTwo(terms[p], r, mn[2 * p], mn[2 * p + 1]);
    d[r] = _cvtsh_ss(b.d);
    dmin[r] = _cvtsh_ss(b.dmin);
  }
};

struct Q6_KTiles {
  using Block = BlockQ6_K;
  static constexpr KPanelLayout kLayout{64, 16, 8};
  static constexpr int kSubBlock = 16;
  static constexpr int kActRows = ActRowsFor(4, 8);
  // Elements 32c..32c+31 of a row as unsigned 6-bit bytes (block_formats.h's order).
  BATON_TILE_INLINE static __m256i Chunk(const Block& b, int c) {
    const int h = c / 4, j = c % 4;
    const __m256i ql =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h + 32 * (j % 2)));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
    const __m256i low = _mm256_and_si256(j < 2 ? ql : _mm256_srli_epi16(ql, 4),
                                         _mm256_set1_epi8(0x0F));
    const __m256i high = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), _mm256_set1_epi8(3));
    return _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
  }
  BATON_TILE_INLINE static __m256i SubBlock(const Block& b, int s) { return Chunk(b, s); }
  BATON_TILE static void Scales(const Block& b, int r, Lanes16* scales, Lanes16* terms, float* d,
                     float* dmin) {
    for (int s = 0; s < 16; ++s) SetPair(scales[s], r, b.scales[s]);
    for (int p = 0; p < 8; ++p) SetTwo(terms[p], r, b.scales[2 * p], b.scales[2 * p + 1]);
    d[r] = _cvtsh_ss(b.d);
    dmin[r] = 0.0f;
  }
};

// Packs one panel: per super-block kLayout.Vectors() vectors (see above).
template <typename T>
BATON_TILE_INLINE inline void PackKPanel(const TileArgs& a, int64_t r0, int rows, __m256i* q) {
  const int64_t nb = a.k / kQkK;
  const typename T::Block* blk[kPanelRows];
  for (int r = 0; r < kPanelRows; ++r) {
    blk[r] = reinterpret_cast<const typename T::Block*>(a.w + (r0 + std::min(r, rows - 1)) *
                                                                  a.row_bytes);
  }
  constexpr KPanelLayout L = T::kLayout;
  for (int64_t b = 0; b < nb; ++b) {
    __m256i* out = q + b * L.Vectors();
    // 32-element chunks c: quants of elements 32c..32c+31 at out[8c..8c+7].
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      __m256i v[kPanelRows];
#pragma GCC unroll 8
      for (int r = 0; r < kPanelRows; ++r) {
        v[r] = r < rows ? T::SubBlock(blk[r][b], c) : _mm256_setzero_si256();
      }
      Transpose8x8(v);
#pragma GCC unroll 8
      for (int g = 0; g < 8; ++g) out[8 * c + g] = v[g];
    }
    // Built as plain arrays (rows past `rows` stay zero), then copied into the panel.
    alignas(32) Lanes16 lanes[L.scales + L.terms] = {};
    alignas(32) float d[2 * kPanelRows] = {};
    for (int r = 0; r < rows; ++r) {
      T::Scales(blk[r][b], r, lanes, lanes + L.scales, d, d + kPanelRows);
    }
    std::memcpy(out + L.quants, lanes, sizeof(lanes));
    std::memcpy(out + L.quants + L.scales + L.terms, d, sizeof(d));
  }
}

// The activations' quant sums per sub-block of `sub` elements as int16 pairs (two sub-blocks
// per 32-bit value), for every row: sums[i * (k / sub / 2) + p] holds sub-blocks 2p, 2p + 1.
BATON_TILE void SubBlockSums(const Q8Activations& q8, int sub, std::vector<int32_t>* sums) {
  const int64_t per_row = q8.k / sub / 2;
  sums->resize(q8.m * per_row);
  for (int64_t i = 0; i < q8.m; ++i) {
    const int8_t* x = q8.row_qs(i);
    for (int64_t p = 0; p < per_row; ++p) {
      int32_t s[2] = {0, 0};
      for (int h = 0; h < 2; ++h) {
        for (int e = 0; e < sub; ++e) s[h] += x[(2 * p + h) * sub + e];
      }
      (*sums)[i * per_row + p] =
          static_cast<int32_t>(static_cast<uint16_t>(s[0]) | (static_cast<uint32_t>(s[1]) << 16));
    }
  }
}

template <typename T, int RA>
BATON_TILE_INLINE inline void KRowsTiled(const TileArgs& a, const __m256i* panel,
                                         const int32_t* sums, int64_t i0, int64_t r0, int rows) {
  constexpr KPanelLayout L = T::kLayout;
  constexpr int kGroups = T::kSubBlock / 4;   // groups of 4 per sub-block
  constexpr int kTerms = kQkK / T::kSubBlock / 2;
  const int64_t nb = a.k / kQkK;
  const int64_t sums_per_row = a.k / T::kSubBlock / 2;
  __m256 acc[RA];
  const int8_t* xq[RA];
  const float* xd[RA];
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) {
    acc[j] = _mm256_setzero_ps();
    xq[j] = a.q8->row_qs(i0 + j);
    xd[j] = a.q8->row_d(i0 + j);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i* p = panel + b * L.Vectors();
    __m256i isum[RA];
#pragma GCC unroll 8
    for (int j = 0; j < RA; ++j) isum[j] = _mm256_setzero_si256();
    for (int s = 0; s < kQkK / T::kSubBlock; ++s) {
      const __m256i scale = _mm256_load_si256(p + L.quants + s);
#if BATON_TILES_VNNI
      // The sub-block's products summed in int32 lanes, times the row's scale (the upper int16
      // of each pair, sign-extended): the AVX2 build's vpmaddwd sums, exactly.
      const __m256i scale32 = _mm256_srai_epi32(scale, 16);
      __m256i s32[RA];
#pragma GCC unroll 8
      for (int j = 0; j < RA; ++j) s32[j] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int g = 0; g < kGroups; ++g) {
        const __m256i w = _mm256_load_si256(p + s * kGroups + g);
#pragma GCC unroll 8
        for (int j = 0; j < RA; ++j) {
          s32[j] = _mm256_dpbusd_epi32(
              s32[j], w, BroadcastQuad(xq[j] + kQkK * b + T::kSubBlock * s + 4 * g));
        }
      }
#pragma GCC unroll 8
      for (int j = 0; j < RA; ++j) {
        isum[j] = _mm256_add_epi32(isum[j], _mm256_mullo_epi32(s32[j], scale32));
      }
#else
      // Q4_K: 8 groups of products fit int16 (8 * 2 * 15 * 127); Q6_K (values up to 63):
      // only 2 groups do, so its 4 groups are summed as two int16 pairs.
      __m256i s16[RA], t16[RA];
#pragma GCC unroll 8
      for (int j = 0; j < RA; ++j) s16[j] = t16[j] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int g = 0; g < kGroups; ++g) {
        const __m256i w = _mm256_load_si256(p + s * kGroups + g);
#pragma GCC unroll 8
        for (int j = 0; j < RA; ++j) {
          const __m256i prod =
              _mm256_maddubs_epi16(w, BroadcastQuad(xq[j] + kQkK * b + T::kSubBlock * s + 4 * g));
          if (T::kSubBlock == 16 && g >= 2) {
            t16[j] = _mm256_add_epi16(t16[j], prod);
            KeepInRegister(t16[j]);
          } else {
            s16[j] = _mm256_add_epi16(s16[j], prod);
            KeepInRegister(s16[j]);
          }
        }
      }
#pragma GCC unroll 8
      for (int j = 0; j < RA; ++j) {
        __m256i scaled = _mm256_madd_epi16(s16[j], scale);
        if (T::kSubBlock == 16) scaled = _mm256_add_epi32(scaled, _mm256_madd_epi16(t16[j], scale));
        isum[j] = _mm256_add_epi32(isum[j], scaled);
      }
#endif
    }
    const __m256 d = _mm256_load_ps(reinterpret_cast<const float*>(p + L.quants + L.scales + L.terms));
    const __m256 dmin = _mm256_load_ps(
        reinterpret_cast<const float*>(p + L.quants + L.scales + L.terms) + kPanelRows);
#pragma GCC unroll 8
    for (int j = 0; j < RA; ++j) {
      // Row terms x the activations' sub-block sums.
      __m256i tsum = _mm256_setzero_si256();
      const int32_t* js = sums + (i0 + j) * sums_per_row + b * kTerms;
#pragma GCC unroll 8
      for (int t = 0; t < kTerms; ++t) {
        tsum = _mm256_add_epi32(
            tsum, _mm256_madd_epi16(_mm256_load_si256(p + L.quants + L.scales + t),
                                    _mm256_set1_epi32(js[t])));
      }
      const __m256 dx = _mm256_set1_ps(xd[j][b]);
      if constexpr (T::kSubBlock == 16) {
        // Q6_K: x = d * sc * (q - 32).
        const __m256i total = _mm256_sub_epi32(isum[j], _mm256_slli_epi32(tsum, 5));
        acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_mul_ps(d, dx), acc[j]);
      } else {
        // Q4_K: x = d * sc * q - dmin * mn.
        acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]), _mm256_mul_ps(d, dx), acc[j]);
        acc[j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(tsum), _mm256_mul_ps(dmin, dx), acc[j]);
      }
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < RA; ++j) StoreRows(acc[j], rows, a.y + (i0 + j) * a.n_rows + r0);
}

template <typename T>
BATON_TILE void KTiled(const TileArgs& a, int64_t r0, int64_t r1) {
  const int64_t nb = a.k / kQkK;
  thread_local std::vector<int32_t> sums;
  SubBlockSums(*a.q8, T::kSubBlock, &sums);
  auto* panel = static_cast<__m256i*>(PanelScratch(nb * T::kLayout.Vectors() * sizeof(__m256i)));
  for (int64_t p = r0; p < r1; p += kPanelRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kPanelRows, r1 - p));
    PackKPanel<T>(a, p, rows, panel);
    PrefetchRows(a, p + kPanelRows, r1);
    ForEachPass<T::kActRows>(a.m, [&](auto ra, int64_t i) BATON_TILE_INLINE {
      KRowsTiled<T, decltype(ra)::value>(a, panel, sums.data(), i, p, rows);
    });
  }
}

}  // namespace

#if BATON_TILES_VNNI
const QuantTiledKernels BATON_QUANT_TILES = {
    Block32Tiled<Q4_0Tiles>, Q8_0PairTiled, KTiled<Q4_KTiles>, KTiled<Q6_KTiles>,
    BATON_TILE_NAME("tiled"), BATON_TILE_NAME("tiled-ggml"), BATON_TILE_NAME("tiled"), 128,
};
#else
const QuantTiledKernels BATON_QUANT_TILES = {
    Block32Tiled<Q4_0Tiles>, Block32Tiled<Q8_0Tiles>, KTiled<Q4_KTiles>, KTiled<Q6_KTiles>,
    BATON_TILE_NAME("tiled"), BATON_TILE_NAME("tiled-ggml"), BATON_TILE_NAME("tiled"), 0,
};
#endif

}  // namespace baton::engine::kernels
