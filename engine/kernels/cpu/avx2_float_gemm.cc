// F16 / BF16 weights x fp32 activations on AVX2 (avx2_float_gemm.h). Loops, outermost first:
// blocks of kFloatGemmKBlock elements of k; blocks of activation rows whose slice of that k
// block fits half of L2; panels of 16 weight rows, converted to fp32 into L1 (lane j of
// vector h of element e = row 8h + j); groups of 6 activation rows, each a micro-kernel call
// whose 12 accumulators stay in registers for the whole k block. Partial sums of later k
// blocks are added to y. The file's row-major weights are transposed into each panel; weights
// repacked at load (8-row panels, tiled_kernels.h) are only widened, and below kFloatGemmMinRows
// activation rows are read straight from the packed panels with the same arithmetic. Every
// function carries a target attribute; callers reach them only after CpuHasAvx2Kernels().
#include "engine/kernels/cpu/avx2_float_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <memory>

#include "engine/kernels/cpu/avx2_tile_helpers.h"
#include "engine/tensor/fp16.h"

namespace baton::engine::kernels {
namespace {

constexpr int kGemmRows = 16;  // weight rows per panel: two vectors of 8 lanes
constexpr int kGemmActs = 6;   // activation rows per micro-kernel call
// At most this many activation rows per block: 256 rows x 256 floats = 256 KiB, half of a
// 512 KiB L2, stays there while every panel of the k block passes over it.
constexpr int64_t kMaxActBlock = 256;

static_assert(kFloatGemmKBlock % 8 == 0);

// A 16-bit float type: 8 values (one 128-bit lane) widened to fp32, or one.
struct F16Halves {
  BATON_AVX2_INLINE static __m256 Widen(__m128i h) { return _mm256_cvtph_ps(h); }
  static float One(uint16_t h) { return Fp16ToFloat(h); }
};
struct Bf16Halves {
  BATON_AVX2_INLINE static __m256 Widen(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float One(uint16_t h) { return Bf16ToFloat(h); }
};

// In place, in each 128-bit half separately: 16-bit lane g of v[j] becomes lane j of v[g].
// Three rounds of unpacks: pairs of rows, then quads, then all eight.
BATON_AVX2_INLINE inline void TransposeHalves16(__m256i v[8]) {
  __m256i pairs[8], quads[8];
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) {
    pairs[2 * p] = _mm256_unpacklo_epi16(v[2 * p], v[2 * p + 1]);      // elements 0-3
    pairs[2 * p + 1] = _mm256_unpackhi_epi16(v[2 * p], v[2 * p + 1]);  // elements 4-7
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {  // rows 0-3, then rows 4-7
    const __m256i* s = pairs + 4 * h;
    quads[4 * h] = _mm256_unpacklo_epi32(s[0], s[2]);      // elements 0, 1
    quads[4 * h + 1] = _mm256_unpackhi_epi32(s[0], s[2]);  // elements 2, 3
    quads[4 * h + 2] = _mm256_unpacklo_epi32(s[1], s[3]);  // elements 4, 5
    quads[4 * h + 3] = _mm256_unpackhi_epi32(s[1], s[3]);  // elements 6, 7
  }
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) {
    v[2 * q] = _mm256_unpacklo_epi64(quads[q], quads[q + 4]);
    v[2 * q + 1] = _mm256_unpackhi_epi64(quads[q], quads[q + 4]);
  }
}

// Converts elements [e0, e0 + n) of weight rows [r, r + rows) (rows <= 16) to fp32:
// panel[e * 16 + j] = element e0 + e of row r + j, zero for j >= rows. Rows j and j + 8 share
// a 256-bit vector (one per half), so one transpose serves both halves of the panel.
template <typename H>
BATON_AVX2_INLINE inline void PackPanel(const TileArgs& a, int64_t r, int rows, int64_t e0,
                                        int64_t n, float* panel) {
  const uint16_t* row[kGemmRows];
  for (int j = 0; j < kGemmRows; ++j) {
    row[j] = reinterpret_cast<const uint16_t*>(a.w + (r + std::min(j, rows - 1)) * a.row_bytes) +
             e0;
  }
  const int64_t n8 = n & ~int64_t{7};
  for (int64_t e = 0; e < n8; e += 8) {
    __m256i v[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      const __m128i low = j < rows ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[j] + e))
                                   : _mm_setzero_si128();
      const __m128i high = j + 8 < rows
                               ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[j + 8] + e))
                               : _mm_setzero_si128();
      v[j] = _mm256_inserti128_si256(_mm256_castsi128_si256(low), high, 1);
    }
    TransposeHalves16(v);
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
      float* out = panel + (e + g) * kGemmRows;
      _mm256_store_ps(out, H::Widen(_mm256_castsi256_si128(v[g])));
      _mm256_store_ps(out + 8, H::Widen(_mm256_extracti128_si256(v[g], 1)));
    }
  }
  for (int64_t e = n8; e < n; ++e) {
    for (int j = 0; j < kGemmRows; ++j) panel[e * kGemmRows + j] = j < rows ? H::One(row[j][e]) : 0.0f;
  }
}

// Asks L2 for elements [e0, e0 + n) of weight rows [r, min(r + 16, r1)): the next panel's
// rows, read 16 at once, which the hardware prefetcher follows poorly.
inline void PrefetchPanel(const TileArgs& a, int64_t r, int64_t r1, int64_t e0, int64_t n) {
  for (int64_t j = r; j < std::min(r + kGemmRows, r1); ++j) {
    const uint8_t* begin = a.w + j * a.row_bytes + e0 * 2;
    for (int64_t b = 0; b < n * 2; b += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(begin + b), _MM_HINT_T1);
    }
  }
}

// Stores (first k block) or adds one accumulator: 8 lanes for rows [row, row + 8), of which
// those below r1 exist.
BATON_AVX2_INLINE inline void StoreLanes(__m256 acc, float* out, int64_t row, int64_t r1,
                                         bool add) {
  if (row + kPanelRows <= r1) {
    if (add) acc = _mm256_add_ps(_mm256_loadu_ps(out), acc);
    _mm256_storeu_ps(out, acc);
    return;
  }
  alignas(32) float lanes[kPanelRows];
  _mm256_store_ps(lanes, acc);
  for (int64_t c = 0; c < r1 - row; ++c) out[c] = add ? out[c] + lanes[c] : lanes[c];
}

// Activation rows [i, i + RA) times the panel (n elements of k from e0) into y's columns
// [r, r + rows): stored, or added to y when `add` (a later k block).
template <int RA>
BATON_AVX2_INLINE inline void PanelTimesRows(const TileArgs& a, const float* panel, int64_t e0,
                                             int64_t n, int64_t i, int64_t r, int rows,
                                             bool add) {
  float* y = a.y + i * a.n_rows + r;
  if (add) {
#pragma GCC unroll 6
    for (int j = 0; j < RA; ++j) {
      _mm_prefetch(reinterpret_cast<const char*>(y + j * a.n_rows), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(y + j * a.n_rows + kGemmRows - 1), _MM_HINT_T0);
    }
  }
  __m256 acc[RA][2];
#pragma GCC unroll 6
  for (int j = 0; j < RA; ++j) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
  // Rows 0-2 at x0, x0 + k, x0 + 2k and rows 3-5 likewise from x3: base + index * {1, 2}
  // addressing, two pointer increments per element.
  const float* x0 = a.x + i * a.k + e0;
  const float* x3 = x0 + 3 * a.k;
  const int64_t k = a.k;
  const float* end = panel + n * kGemmRows;
#pragma GCC unroll 2
  for (const float* w = panel; w != end; w += kGemmRows, ++x0, ++x3) {
    const __m256 w0 = _mm256_load_ps(w);
    const __m256 w1 = _mm256_load_ps(w + 8);
#pragma GCC unroll 6
    for (int j = 0; j < RA; ++j) {
      const __m256 xb = _mm256_broadcast_ss(j < 3 ? x0 + j * k : x3 + (j - 3) * k);
      acc[j][0] = _mm256_fmadd_ps(w0, xb, acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(w1, xb, acc[j][1]);
    }
  }
#pragma GCC unroll 6
  for (int j = 0; j < RA; ++j) {
    float* out = y + j * a.n_rows;
    StoreLanes(acc[j][0], out, 0, rows, add);
    if (rows > kPanelRows) StoreLanes(acc[j][1], out + kPanelRows, kPanelRows, rows, add);
  }
}

// The last `left` (< 6) activation rows of a block as one call.
template <int RA>
BATON_AVX2_INLINE inline void PanelTimesTail(const TileArgs& a, const float* panel, int64_t e0,
                                             int64_t n, int64_t i, int64_t left, int64_t r,
                                             int rows, bool add) {
  if constexpr (RA > 0) {
    if (left == RA) {
      PanelTimesRows<RA>(a, panel, e0, n, i, r, rows, add);
    } else {
      PanelTimesTail<RA - 1>(a, panel, e0, n, i, left, r, rows, add);
    }
  }
}

// One panel's storage, 64-byte aligned (a whole number of cache lines).
struct alignas(64) Panel {
  float f[kGemmRows * kFloatGemmKBlock];
};

// Panel sources for FloatGemm: the file's row-major rows (transposed into the panel) ...
template <typename H>
struct RowMajorPanels {
  BATON_AVX2_INLINE static void Pack(const TileArgs& a, int64_t r, int rows, int64_t e0,
                                     int64_t n, float* panel) {
    PackPanel<H>(a, r, rows, e0, n, panel);
  }
  static void Prefetch(const TileArgs& a, int64_t r, int64_t r1, int64_t e0, int64_t n) {
    PrefetchPanel(a, r, r1, e0, n);
  }
};

// ... or the repacked 8-row panels (a.w = the packed buffer): a 16-row panel at row r is packed
// panels r / 8 and r / 8 + 1, element by element, so packing only widens.
template <typename H>
struct RepackedPanels {
  static const uint16_t* Half(const TileArgs& a, int64_t r, int64_t e) {
    return reinterpret_cast<const uint16_t*>(a.w) + (r / kPanelRows * a.k + e) * kPanelRows;
  }
  BATON_AVX2_INLINE static void Pack(const TileArgs& a, int64_t r, int rows, int64_t e0,
                                     int64_t n, float* panel) {
    // Rows 8-15 of a panel with at most 8 rows are zeros (PackPanel's convention).
    const uint16_t* low = Half(a, r, e0);
    const uint16_t* high = rows > kPanelRows ? Half(a, r + kPanelRows, e0) : nullptr;
    for (int64_t e = 0; e < n; ++e) {
      _mm256_store_ps(panel + e * kGemmRows,
                      H::Widen(_mm_load_si128(reinterpret_cast<const __m128i*>(low + e * 8))));
      _mm256_store_ps(panel + e * kGemmRows + 8,
                      high != nullptr ? H::Widen(_mm_load_si128(
                                            reinterpret_cast<const __m128i*>(high + e * 8)))
                                      : _mm256_setzero_ps());
    }
  }
  static void Prefetch(const TileArgs& a, int64_t r, int64_t r1, int64_t e0, int64_t n) {
    for (int64_t p = r; p < std::min(r + kGemmRows, r1); p += kPanelRows) {
      const auto* begin = reinterpret_cast<const char*>(Half(a, p, e0));
      for (int64_t b = 0; b < n * 2 * kPanelRows; b += 64) _mm_prefetch(begin + b, _MM_HINT_T1);
    }
  }
};

template <typename H, typename Source>
BATON_AVX2 void FloatGemm(const TileArgs& a, int64_t r0, int64_t r1) {
  thread_local const std::unique_ptr<Panel> storage = std::make_unique<Panel>();
  float* panel = storage->f;
  // Activation blocks of near-equal size, each a whole number of micro-kernel calls.
  const int64_t blocks = (a.m + kMaxActBlock - 1) / kMaxActBlock;
  const int64_t per_block = (a.m + blocks - 1) / blocks;
  const int64_t act_block = (per_block + kGemmActs - 1) / kGemmActs * kGemmActs;
  for (int64_t e0 = 0; e0 < a.k; e0 += kFloatGemmKBlock) {
    const int64_t n = std::min(kFloatGemmKBlock, a.k - e0);
    const bool add = e0 > 0;
    for (int64_t i0 = 0; i0 < a.m; i0 += act_block) {
      const int64_t i1 = std::min(a.m, i0 + act_block);
      for (int64_t r = r0; r < r1; r += kGemmRows) {
        const int rows = static_cast<int>(std::min<int64_t>(kGemmRows, r1 - r));
        Source::Pack(a, r, rows, e0, n, panel);
        if (r + kGemmRows < r1) {
          Source::Prefetch(a, r + kGemmRows, r1, e0, n);
        } else if (i1 == a.m && e0 + n < a.k) {
          Source::Prefetch(a, r0, r1, e0 + n, std::min(kFloatGemmKBlock, a.k - e0 - n));
        }
        int64_t i = i0;
        for (; i + kGemmActs <= i1; i += kGemmActs) {
          PanelTimesRows<kGemmActs>(a, panel, e0, n, i, r, rows, add);
        }
        PanelTimesTail<kGemmActs - 1>(a, panel, e0, n, i, i1 - i, r, rows, add);
      }
    }
  }
}

// Element e of P repacked panels (w: the first, k elements of 8 halves each) times element e of
// activation rows [0, RA) (x: the first), into acc.
template <typename H, int RA, int P>
BATON_AVX2_INLINE inline void DirectStep(const uint16_t* w, const float* x, int64_t k, int64_t e,
                                         __m256 (&acc)[RA][P]) {
  __m256 wv[P];
#pragma GCC unroll 8
  for (int q = 0; q < P; ++q) {
    wv[q] = H::Widen(_mm_load_si128(reinterpret_cast<const __m128i*>(w + (q * k + e) * kPanelRows)));
  }
#pragma GCC unroll 3
  for (int j = 0; j < RA; ++j) {
    const __m256 xb = _mm256_broadcast_ss(x + j * k + e);
#pragma GCC unroll 8
    for (int q = 0; q < P; ++q) acc[j][q] = _mm256_fmadd_ps(wv[q], xb, acc[j][q]);
  }
}

// Activation rows [0, RA) against P consecutive repacked panels from panel p0, reading them in
// place: per k block, each (activation row, panel) accumulator is the micro-kernel's lane for
// lane (an FMA chain in element order from zero), stored or added to y as it adds its blocks.
// The P panels are P streams that the hardware prefetchers follow (asking for lines ahead in
// software was slower here: matmul_bench, F16, 128256 x 2048, batch 1).
template <typename H, int RA, int P>
BATON_AVX2_INLINE inline void DirectPanels(const TileArgs& a, int64_t p0, int64_t r1) {
  const int64_t k = a.k;
  const uint16_t* w = reinterpret_cast<const uint16_t*>(a.w) + p0 * k * kPanelRows;
  const float* x = a.x;
  for (int64_t e0 = 0; e0 < k; e0 += kFloatGemmKBlock) {
    const int64_t e1 = std::min(k, e0 + kFloatGemmKBlock);
    __m256 acc[RA][P];
#pragma GCC unroll 3
    for (int j = 0; j < RA; ++j) {
#pragma GCC unroll 8
      for (int q = 0; q < P; ++q) acc[j][q] = _mm256_setzero_ps();
    }
#pragma GCC unroll 4
    for (int64_t e = e0; e < e1; ++e) DirectStep<H>(w, x, k, e, acc);
#pragma GCC unroll 3
    for (int j = 0; j < RA; ++j) {
#pragma GCC unroll 8
      for (int q = 0; q < P; ++q) {
        const int64_t row = (p0 + q) * kPanelRows;
        if (row < r1) StoreLanes(acc[j][q], a.y + j * a.n_rows + row, row, r1, e0 > 0);
      }
    }
  }
}

// Rows [r0, r1) for RA (< kFloatGemmMinRows) activation rows, P panels at a time (as many
// accumulators as leave registers for the panels' vectors and one broadcast).
template <typename H, int RA>
BATON_AVX2_INLINE inline void DirectRange(const TileArgs& a, int64_t r0, int64_t r1) {
  constexpr int P = RA == 3 ? 3 : 4;
  const int64_t end = (r1 + kPanelRows - 1) / kPanelRows;
  int64_t p = r0 / kPanelRows;
  for (; p + P <= end; p += P) DirectPanels<H, RA, P>(a, p, r1);
  for (; p < end; ++p) DirectPanels<H, RA, 1>(a, p, r1);
}

template <typename H>
BATON_AVX2 void RepackedFloatGemm(const TileArgs& a, int64_t r0, int64_t r1) {
  switch (a.m) {
    case 0: return;
    case 1: DirectRange<H, 1>(a, r0, r1); return;
    case 2: DirectRange<H, 2>(a, r0, r1); return;
    case 3: DirectRange<H, 3>(a, r0, r1); return;
    default: FloatGemm<H, RepackedPanels<H>>(a, r0, r1); return;
  }
}
static_assert(kFloatGemmMinRows == 4, "RepackedFloatGemm reads panels in place below 4 rows");

}  // namespace

void Avx2F16Gemm(const TileArgs& a, int64_t r0, int64_t r1) {
  FloatGemm<F16Halves, RowMajorPanels<F16Halves>>(a, r0, r1);
}

void Avx2Bf16Gemm(const TileArgs& a, int64_t r0, int64_t r1) {
  FloatGemm<Bf16Halves, RowMajorPanels<Bf16Halves>>(a, r0, r1);
}

void Avx2RepackedF16Gemm(const TileArgs& a, int64_t r0, int64_t r1) {
  RepackedFloatGemm<F16Halves>(a, r0, r1);
}

void Avx2RepackedBf16Gemm(const TileArgs& a, int64_t r0, int64_t r1) {
  RepackedFloatGemm<Bf16Halves>(a, r0, r1);
}

size_t PackedHalfBytes(int64_t n_rows, int64_t k) {
  const int64_t panels = (n_rows + kPanelRows - 1) / kPanelRows;
  return static_cast<size_t>(panels * k * kPanelRows * 2);
}

void PackHalfPanels(const uint8_t* w, int64_t n_rows, int64_t k, int64_t panel_begin,
                    int64_t panel_end, uint8_t* packed) {
  auto* out = reinterpret_cast<uint16_t*>(packed);
  const auto* in = reinterpret_cast<const uint16_t*>(w);
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    for (int r = 0; r < kPanelRows; ++r) {
      const uint16_t* row = in + std::min(p * kPanelRows + r, n_rows - 1) * k;
      uint16_t* lane = out + p * k * kPanelRows + r;
      for (int64_t e = 0; e < k; ++e) lane[e * kPanelRows] = row[e];
    }
  }
}

void UnpackHalfRow(const uint8_t* packed, int64_t k, int64_t row, uint8_t* halves) {
  const auto* in = reinterpret_cast<const uint16_t*>(packed) +
                   row / kPanelRows * k * kPanelRows + row % kPanelRows;
  auto* out = reinterpret_cast<uint16_t*>(halves);
  for (int64_t e = 0; e < k; ++e) out[e] = in[e * kPanelRows];
}

}  // namespace baton::engine::kernels
