// Register-tiled kernels MatMul uses when there are several activation rows (prefill, batched
// decode). A tiled kernel takes a range of weight rows, packs them panel by panel (kPanelRows
// rows) into a per-thread buffer whose vectors interleave the rows, and passes every activation
// row over each panel while it sits in L1/L2: each 32-bit lane of an accumulator belongs to one
// weight row, so no horizontal sums are needed and a panel's decoding is paid once for all m
// activation rows. (Q4_0 with fewer than 4 activation rows reads its rows in place instead,
// with the same rounding; see TiledKernelChoice::min_rows. A model that repacked its Q4_0
// weights at load reads them through the packed kernel below at every m, and neither path.)
// Weights are never copied beyond the current panel. Internal to engine/kernels/cpu. Stateless apart from per-thread scratch:
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/kernels/cpu/activations.h"
#include "engine/kernels/cpu/row_kernels.h"
#include "engine/tensor/tensor_type.h"

namespace baton::engine::kernels {

// Weight rows per panel: one 32-bit lane of an AVX2 vector each.
inline constexpr int64_t kPanelRows = 8;

// One MatMul's operands (see MatMul for the layouts).
struct TileArgs {
  const uint8_t* w = nullptr;
  size_t row_bytes = 0;
  int64_t n_rows = 0;
  int64_t k = 0;
  int64_t m = 0;
  const float* x = nullptr;           // m rows of k floats (always set)
  const Q8Activations* q8 = nullptr;  // set for kQ8Block32 / kQ8Block256
  float* y = nullptr;                 // m rows of n_rows floats
};

// Computes y[i * n_rows + r] for r0 <= r < r1 and every i < m. r0 is a multiple of kPanelRows.
using TiledKernel = void (*)(const TileArgs& a, int64_t r0, int64_t r1);

struct TiledKernelChoice {
  TiledKernel kernel = nullptr;
  ActivationForm form = ActivationForm::kFloat;
  int bias = 0;  // Q8Activations::bias
  const char* name = "";
  // MatMul uses the kernel from this many activation rows on (below, the row kernels).
  // Q4_0's is 1 (its few-row path skips the packing and rounds as its panels do), so Q4_0
  // products do not depend on the batch; the Q8_0, Q4_K and Q6_K row kernels round as their
  // tiles; F16/BF16 differ from their row kernels by float rounding between m < 4 and m >= 4.
  int64_t min_rows = 4;
};

// The AVX2 tiled kernel for `t`, or kernel == nullptr when there is none (or no AVX2, FMA and
// F16C). Q8_0 keeps the row kernel's arithmetic exactly (per block, 8 float lanes per weight
// row each take fma(d_w * d_x, dot of 4 quants), summed in ggml's order), so its results are
// bit-identical to Avx2Kernel's and ScalarKernel's; Q4_0 sums a block's products in integers
// and subtracts the offset 8 * (sum of the block's activation quants) before one float step;
// F16/BF16 weights run as an fp32 GEMM (avx2_float_gemm.h: 16-row panels, blocks of k):
// exact products summed with fp32 FMA in element order within each block of k, the blocks'
// sums added in order (not ggml's 64-lane order). F32 has none: its row kernel must keep
// ggml's order bit for bit.
TiledKernelChoice Avx2TiledKernel(TensorType t);
// The same choice with the quantized types' tiles built for AVX-512 VL + VNNI (32 vector
// registers: more activation rows per pass; vpdpbusd where products are summed in int32),
// bit-identical to Avx2TiledKernel's; kernel == nullptr when !CpuHasAvx512VnniTiles().
TiledKernelChoice Avx512VnniTiledKernel(TensorType t);
// AVX2, FMA, F16C and AVX-512 F, BW, VL and VNNI.
bool CpuHasAvx512VnniTiles();

// The quantized types' tiles of one build of quant_tiled_kernels.cc (compiled for each tier).
struct QuantTiledKernels {
  TiledKernel q4_0, q8_0, q4_k, q6_k;
  const char* q4_0_name;
  const char* q8_0_name;
  const char* k_name;
  int q8_0_bias;  // Q8Activations::bias the Q8_0 tile reads
};
extern const QuantTiledKernels kAvx2QuantTiles;
extern const QuantTiledKernels kAvx512VnniQuantTiles;

// ---- Weights repacked at load (packed_weights.h) ----
// Q4_0 repacked: panel p (rows 8p..8p+7, the last panel padded with copies of its last row)
// holds, for each block b in order, kPackedQ4_0BlockBytes bytes: the 8 rows' fp16 scales, then
// 4 vectors of 32 bytes whose 32-bit lane r of vector j is bytes 4j..4j+3 of row r's qs (the
// low nibbles are elements 4j..4j+3, the high nibbles elements 16+4j..16+4j+3).
inline constexpr int64_t kPackedQ4_0BlockBytes = 16 + 4 * 32;
size_t PackedQ4_0Bytes(int64_t n_rows, int64_t k);
// Writes panels [panel_begin, panel_end) of the Q4_0 matrix w (n_rows x k) into `packed`
// (the whole matrix's buffer). Portable code.
void PackQ4_0Panels(const uint8_t* w, int64_t n_rows, int64_t k, int64_t panel_begin,
                    int64_t panel_end, uint8_t* packed);
// Row `row` of a repacked Q4_0 matrix back in the file's block layout (k / 32 blocks).
void UnpackQ4_0Row(const uint8_t* packed, int64_t k, int64_t row, uint8_t* blocks);
// F16 / BF16 repacked: panel p (rows 8p..8p+7, the last panel padded with copies of its last
// row) holds, for each element e in order, the 8 rows' 16-bit values (16 bytes: one vector
// widened to fp32 has row r in lane r). Same size as the source when 8 divides n_rows.
size_t PackedHalfBytes(int64_t n_rows, int64_t k);
void PackHalfPanels(const uint8_t* w, int64_t n_rows, int64_t k, int64_t panel_begin,
                    int64_t panel_end, uint8_t* packed);
void UnpackHalfRow(const uint8_t* packed, int64_t k, int64_t row, uint8_t* halves);
// The AVX2 kernel over a repacked t (TileArgs::w = the packed buffer, row_bytes unused), for
// every m, with Avx2TiledKernel(t)'s arithmetic bit for bit (for F16/BF16 also below its
// min_rows, where MatMul over the source takes the row kernels: so a row's products over
// repacked weights never depend on the batch); kernel == nullptr when t is not repacked or
// the CPU lacks AVX2, FMA and F16C.
TiledKernelChoice Avx2PackedKernel(TensorType t);
// The Q4_0 kernel over the same layout with AVX-512 BW and VNNI (two panels per pass in 512-bit
// vectors, vpdpbusd, 8 activation rows per pass; below 4 rows the AVX2 build), bit-identical
// to Avx2PackedKernel's; kernel == nullptr for other types (F16/BF16 keep the AVX2 GEMM: it
// runs near the FMA peak here, and 16-lane FMAs were slower, 43 against 51 GMAC/s on one
// thread in matmul_bench) or when !CpuHasAvx512VnniTiles().
TiledKernelChoice Avx512VnniPackedKernel(TensorType t);
// The two builds of the Q4_0 kernel (packed_q4_0_kernel.cc); reach them through the choices.
void PackedQ4_0Avx2(const TileArgs& a, int64_t r0, int64_t r1);
void PackedQ4_0Vnni(const TileArgs& a, int64_t r0, int64_t r1);

}  // namespace baton::engine::kernels
