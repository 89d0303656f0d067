#include "engine/model/attention_avx512.h"

#include <immintrin.h>

#include <algorithm>

#include "common/logging.h"
#include "engine/model/dot_sum.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_* helpers
// (as in the kernels' AVX-512 builds).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define BATON_ATTN_TARGET "avx2,fma,f16c,avx512f"
#define BATON_ATTN __attribute__((target(BATON_ATTN_TARGET)))
#define BATON_ATTN_INLINE __attribute__((always_inline, target(BATON_ATTN_TARGET))) inline
#define BATON_ATTN_LAMBDA __attribute__((always_inline, target(BATON_ATTN_TARGET)))

namespace baton::engine::ops {
namespace {

constexpr int kHeadDim = 64;
// Query heads per pass over K and V: their queries (4 x 4 vectors) or outputs stay in registers.
constexpr int kMaxHeads = 4;

BATON_ATTN_INLINE __m512 LoadF16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// One K or V row (64 f16 values) as 4 vectors of floats.
BATON_ATTN_INLINE void LoadRow(const uint16_t* row, __m512 z[4]) {
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) z[i] = LoadF16(row + 16 * i);
}

BATON_ATTN_INLINE __m256 HighHalf(__m512 x) {
  return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1));
}

// x rounded to the nearest f16 value (RoundToF16's rounding).
BATON_ATTN_INLINE __m512 RoundF16(__m512 x) {
  return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// f(j, row) for the positions first + j in [first, end) of `kv_head`'s K (or V) rows, each 64
// f16 values, a block's run of consecutive rows at a time.
template <bool kValues, class F>
BATON_ATTN_INLINE void ForEachRow(const PagedKvView& kv, int32_t kv_head, int64_t first,
                                  int64_t end, F&& f) {
  const int32_t bs = kv.layout.block_size_tokens;
  for (int64_t t = first; t < end;) {
    const int64_t run = std::min<int64_t>(bs - t % bs, end - t);
    const auto* row =
        reinterpret_cast<const uint16_t*>(kValues ? kv.Value(kv_head, t) : kv.Key(kv_head, t));
    for (int64_t j = t - first; j < t - first + run; ++j, row += kHeadDim) f(j, row);
    t += run;
  }
}

// One query row, H heads (queries q + h * 64, outputs out + h * 64), keys [first, end).
// scores: H rows of `stride` floats.
template <int H>
BATON_ATTN void Heads(const PagedKvView& kv, int32_t kv_head, const float* q, int64_t first,
                      int64_t end, const AttentionParams& params, float* out, float* scores,
                      int64_t stride) {
  // A 16-lane vector at element 16i holds QueryScores' acc0 chunk in its low half and its acc1
  // chunk in its high half, so one accumulator per head follows QueryScores' order.
  __m512 qz[H][4];
#pragma GCC unroll 4
  for (int h = 0; h < H; ++h) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) qz[h][i] = RoundF16(_mm512_loadu_ps(q + h * kHeadDim + 16 * i));
  }
  ForEachRow<false>(kv, kv_head, first, end, [&](int64_t j, const uint16_t* k) BATON_ATTN_LAMBDA {
    __m512 kz[4];
    LoadRow(k, kz);
#pragma GCC unroll 4
    for (int h = 0; h < H; ++h) {
      __m512 acc = _mm512_setzero_ps();
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) acc = _mm512_fmadd_ps(qz[h][i], kz[i], acc);
      scores[h * stride + j] =
          SumLikeDot(_mm512_castps512_ps256(acc), HighHalf(acc)) * params.scale;
    }
  });
  const int64_t n = end - first;
  for (int h = 0; h < H; ++h) {
    float* s = scores + h * stride;
    if (params.softcap > 0.0f) SoftCap(s, n, params.softcap);
    Softmax(s, n);
    RoundToF16(s, n, s);
  }
  // WeightedSum's order per lane: o = fma(w_t, v_t, o) from zero, t in order.
  __m512 o[H][4];
#pragma GCC unroll 4
  for (int h = 0; h < H; ++h) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) o[h][i] = _mm512_setzero_ps();
  }
  ForEachRow<true>(kv, kv_head, first, end, [&](int64_t j, const uint16_t* v) BATON_ATTN_LAMBDA {
    __m512 vz[4];
    LoadRow(v, vz);
#pragma GCC unroll 4
    for (int h = 0; h < H; ++h) {
      const __m512 w = _mm512_set1_ps(scores[h * stride + j]);
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) o[h][i] = _mm512_fmadd_ps(w, vz[i], o[h][i]);
    }
  });
#pragma GCC unroll 4
  for (int h = 0; h < H; ++h) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) _mm512_storeu_ps(out + h * kHeadDim + 16 * i, o[h][i]);
  }
}

}  // namespace

bool CpuHasAvx512Attention() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                          __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx512f");
  return has;
}

void AttendGroupF16Avx512(const PagedKvView& kv, int32_t kv_head, int32_t group, const float* q,
                          int64_t q_stride, int64_t n_rows, int64_t first_pos,
                          const AttentionParams& params, float* out, int64_t out_stride,
                          float* scratch) {
  CHECK(kv.layout.dtype == KvDType::kF16 && kv.layout.head_dim == kHeadDim);
  const int64_t stride = first_pos + n_rows;
  for (int64_t r = 0; r < n_rows; ++r) {
    const int64_t end = first_pos + r + 1;
    const int64_t first = params.FirstKey(end);
    for (int32_t g = 0; g < group; g += kMaxHeads) {
      const int64_t h0 = static_cast<int64_t>(kv_head) * group + g;
      const float* qh = q + r * q_stride + h0 * kHeadDim;
      float* oh = out + r * out_stride + h0 * kHeadDim;
      switch (std::min(kMaxHeads, group - g)) {
        case 1:
          Heads<1>(kv, kv_head, qh, first, end, params, oh, scratch, stride);
          break;
        case 2:
          Heads<2>(kv, kv_head, qh, first, end, params, oh, scratch, stride);
          break;
        case 3:
          Heads<3>(kv, kv_head, qh, first, end, params, oh, scratch, stride);
          break;
        default:
          Heads<4>(kv, kv_head, qh, first, end, params, oh, scratch, stride);
          break;
      }
    }
  }
}

}  // namespace baton::engine::ops
