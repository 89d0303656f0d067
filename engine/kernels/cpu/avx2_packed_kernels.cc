// AVX2 kernels over weights repacked at load (tiled_kernels.h, packed_weights.h). A Q4_0 panel
// is one contiguous stream: per block, the 8 rows' scales and 4 vectors of packed nibbles whose
// lane r belongs to row r. Each vector gives two vectors of unsigned nibbles (low: elements
// 4j..4j+3, high: 16+4j..16+4j+3 of every row), each multiplied by one broadcast of the 4
// activation quants it meets (vpmaddubsw), so one pass serves 8 weight rows with no horizontal
// sums and nothing is packed at run time. The integer sums per (row, block) and the float step
// after them are Block32Tiled<Q4_0Tiles>'s, so results are bit-identical to MatMul over the file.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/kernels/cpu/avx2_float_gemm.h"
#include "engine/kernels/cpu/avx2_tile_helpers.h"
#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/tiled_kernels.h"

namespace baton::engine::kernels {
namespace {

using avx2::BroadcastQuad;
using avx2::KeepInRegister;
using avx2::StoreRows;

// Activation rows per pass over a panel: each vector's nibbles are unpacked once for them all.
constexpr int kActRows = 4;

// How far ahead of the block being read the weights are asked for (the stream continues into
// the next panel, which the same thread reads next).
constexpr int64_t kPrefetchBytes = 2048;

// RA activation rows from i0 against one packed panel of nb blocks; the first pass over a
// panel (`prefetch`) also asks for the weights ahead. |sum of a block's 8
// vpmaddubsw lanes| <= 8 * 2 * 15 * 127 < 2^15, so a block's products fit int16 lanes.
template <int RA>
BATON_AVX2_INLINE inline void PanelRows(const uint8_t* panel, int64_t nb, const Q8Activations& q8,
                                        int64_t i0, bool prefetch, __m256 out[RA]) {
  const avx2::ActivationRows<RA> x(q8, i0);
  __m256 acc[RA];
#pragma GCC unroll 4
  for (int j = 0; j < RA; ++j) acc[j] = _mm256_setzero_ps();
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + b * kPackedQ4_0BlockBytes;
    if (prefetch) {
      const char* ahead = reinterpret_cast<const char*>(blk) + kPrefetchBytes;
      _mm_prefetch(ahead, _MM_HINT_T0);
      _mm_prefetch(ahead + 64, _MM_HINT_T0);
      _mm_prefetch(ahead + 128, _MM_HINT_T0);
    }
    __m256i s16[RA];
#pragma GCC unroll 4
    for (int j = 0; j < RA; ++j) s16[j] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      const __m256i packed =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * v));
      const __m256i lo = _mm256_and_si256(packed, nibble);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
#pragma GCC unroll 4
      for (int j = 0; j < RA; ++j) {
        const int8_t* q = x.qs[j] + kQk * b + 4 * v;
        s16[j] = _mm256_add_epi16(s16[j], _mm256_maddubs_epi16(lo, BroadcastQuad(q)));
        s16[j] = _mm256_add_epi16(s16[j], _mm256_maddubs_epi16(hi, BroadcastQuad(q + 16)));
        KeepInRegister(s16[j]);
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)));
#pragma GCC unroll 4
    for (int j = 0; j < RA; ++j) {
      acc[j] = avx2::Q4_0BlockStep(s16[j], x.sum32[j] + b, dw, x.d[j][b], acc[j]);
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < RA; ++j) out[j] = acc[j];
}

template <int RA>
BATON_AVX2_INLINE inline void PassRows(const TileArgs& a, const uint8_t* panel, int64_t nb,
                                       int64_t i0, int64_t r0, int rows) {
  __m256 acc[RA];
  PanelRows<RA>(panel, nb, *a.q8, i0, i0 == 0, acc);
#pragma GCC unroll 4
  for (int j = 0; j < RA; ++j) StoreRows(acc[j], rows, a.y + (i0 + j) * a.n_rows + r0);
}

BATON_AVX2 void PackedQ4_0(const TileArgs& a, int64_t r0, int64_t r1) {
  const int64_t nb = a.k / kQk;
  const int64_t panel_bytes = nb * kPackedQ4_0BlockBytes;
  for (int64_t p = r0; p < r1; p += kPanelRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kPanelRows, r1 - p));
    const uint8_t* panel = a.w + p / kPanelRows * panel_bytes;
    int64_t i = 0;
    for (; i + kActRows <= a.m; i += kActRows) PassRows<kActRows>(a, panel, nb, i, p, rows);
    switch (a.m - i) {
      case 3: PassRows<3>(a, panel, nb, i, p, rows); break;
      case 2: PassRows<2>(a, panel, nb, i, p, rows); break;
      case 1: PassRows<1>(a, panel, nb, i, p, rows); break;
      default: break;
    }
  }
}

}  // namespace

size_t PackedQ4_0Bytes(int64_t n_rows, int64_t k) {
  const int64_t panels = (n_rows + kPanelRows - 1) / kPanelRows;
  return static_cast<size_t>(panels * (k / kQk) * kPackedQ4_0BlockBytes);
}

void PackQ4_0Panels(const uint8_t* w, int64_t n_rows, int64_t k, int64_t panel_begin,
                    int64_t panel_end, uint8_t* packed) {
  const int64_t nb = k / kQk;
  const size_t row_bytes = nb * sizeof(BlockQ4_0);
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    const BlockQ4_0* row[kPanelRows];
    for (int r = 0; r < kPanelRows; ++r) {
      const int64_t src = std::min(p * kPanelRows + r, n_rows - 1);
      row[r] = reinterpret_cast<const BlockQ4_0*>(w + src * row_bytes);
    }
    uint8_t* out = packed + p * nb * kPackedQ4_0BlockBytes;
    for (int64_t b = 0; b < nb; ++b, out += kPackedQ4_0BlockBytes) {
      for (int r = 0; r < kPanelRows; ++r) {
        std::memcpy(out + 2 * r, &row[r][b].d, 2);
        for (int v = 0; v < 4; ++v) std::memcpy(out + 16 + 32 * v + 4 * r, row[r][b].qs + 4 * v, 4);
      }
    }
  }
}

void UnpackQ4_0Row(const uint8_t* packed, int64_t k, int64_t row, uint8_t* blocks) {
  const int64_t nb = k / kQk;
  const int r = static_cast<int>(row % kPanelRows);
  const uint8_t* in = packed + row / kPanelRows * nb * kPackedQ4_0BlockBytes;
  auto* out = reinterpret_cast<BlockQ4_0*>(blocks);
  for (int64_t b = 0; b < nb; ++b, in += kPackedQ4_0BlockBytes) {
    std::memcpy(&out[b].d, in + 2 * r, 2);
    for (int v = 0; v < 4; ++v) std::memcpy(out[b].qs + 4 * v, in + 16 + 32 * v + 4 * r, 4);
  }
}

TiledKernelChoice Avx2PackedKernel(TensorType t) {
  if (!CpuHasAvx2Kernels()) return {};
  switch (t) {
    case TensorType::kQ4_0:
      return {PackedQ4_0, ActivationForm::kQ8Block32, 0, "avx2-packed", 1};
    case TensorType::kF16:
      return {Avx2RepackedF16Gemm, ActivationForm::kFloat, 0, "avx2-packed-f16c", 1};
    case TensorType::kBF16:
      return {Avx2RepackedBf16Gemm, ActivationForm::kFloat, 0, "avx2-packed-bf16", 1};
    default:
      return {};
  }
}

}  // namespace baton::engine::kernels
