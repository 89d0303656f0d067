// The horizontal sum that ends Dot (ops.h) and every kernel that must round as Dot does: the
// two 8-lane accumulators (acc0: the even 8-element chunks, acc1: the odd ones) added lane by
// lane, then the halves, then pairs, then the last two lanes.
#pragma once

#include <immintrin.h>

namespace baton::engine::ops {

inline float SumLikeDot(__m256 acc0, __m256 acc1) {
  acc0 = _mm256_add_ps(acc0, acc1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc0), _mm256_extractf128_ps(acc0, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace baton::engine::ops
