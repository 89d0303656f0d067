// The AVX2 tiled kernels for F16 and BF16 weights (tiled_kernels.h): a register-blocked fp32
// GEMM. Weights are converted, one block of k at a time, into a per-thread fp32 panel of 16
// rows that stays in L1; a micro-kernel multiplies it with 6 activation rows at once (12
// accumulators of 8 rows' lanes, two panel loads and six broadcasts per 12 FMAs), and the
// activation rows of a block of k stay in L2 while every panel passes over them. Internal to
// engine/kernels/cpu. Stateless apart from per-thread scratch: thread-safe.
#pragma once

#include <cstdint>

#include "engine/kernels/cpu/tiled_kernels.h"

namespace baton::engine::kernels {

// y[i * n_rows + r] for r0 <= r < r1 and every i < a.m, with F16 (resp. BF16) weights and
// float activations (a.x). Each product sums exact fp32 products in element order within
// blocks of kFloatGemmKBlock elements, in fp32, and adds the blocks' sums in order; a row's
// result does not depend on m or on its position in the batch. Requires CpuHasAvx2Kernels().
void Avx2F16Gemm(const TileArgs& a, int64_t r0, int64_t r1);
void Avx2Bf16Gemm(const TileArgs& a, int64_t r0, int64_t r1);

// The same products over F16 (resp. BF16) weights repacked at load (tiled_kernels.h; a.w = the
// packed buffer), for every m, bit for bit Avx2F16Gemm's (resp. Avx2Bf16Gemm's) over the
// source: from kFloatGemmMinRows activation rows through the same GEMM, below it reading the
// packed panels in place with the same sums. Requires CpuHasAvx2Kernels().
void Avx2RepackedF16Gemm(const TileArgs& a, int64_t r0, int64_t r1);
void Avx2RepackedBf16Gemm(const TileArgs& a, int64_t r0, int64_t r1);

// Elements of k per packed panel (a multiple of 8).
inline constexpr int64_t kFloatGemmKBlock = 256;
// Activation rows from which MatMul takes the GEMM over the file's rows (below, the row kernels
// in ggml's order, faster at one row than transposing panels).
inline constexpr int64_t kFloatGemmMinRows = 4;

}  // namespace baton::engine::kernels
