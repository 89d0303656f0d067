// AttendGroup (ops.h) with AVX-512 for the case Llama-shaped models take: an f16 KV cache and
// 64-wide heads. Up to 4 query heads of the group meet each K and V row together, read as f16
// straight from the pool's blocks (no gathered f32 copy), 16 lanes at a time; per lane the
// arithmetic is the portable path's (QueryScores' and WeightedSum's order, Softmax and the f16
// roundings themselves), so the results are bit-identical to it (ops_test).
#pragma once

#include <cstdint>

#include "engine/model/ops.h"

namespace baton::engine::ops {

// Whether this CPU has what AttendGroupF16Avx512 needs (AVX-512 F, with AVX2, FMA and F16C).
bool CpuHasAvx512Attention();

// AttendGroup's contract for kv.layout.dtype == kF16 and head_dim == 64 (CHECKed); `scratch`
// as AttendGroup's (it uses 4 * (first_pos + n_rows) floats of it).
void AttendGroupF16Avx512(const PagedKvView& kv, int32_t kv_head, int32_t group, const float* q,
                          int64_t q_stride, int64_t n_rows, int64_t first_pos,
                          const AttentionParams& params, float* out, int64_t out_stride,
                          float* scratch);

}  // namespace baton::engine::ops
