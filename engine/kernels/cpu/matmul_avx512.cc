// AVX-512 row kernels, one source for every AVX-512 family (avx512_isa.h): with VNNI, without
// it, and the emulated test builds of both. Native builds put a target attribute on every
// function, so the file compiles without global -m flags; callers reach them only after the
// runtime CPU check (Avx512Family::cpu_supported).
#include <cstddef>
#include <type_traits>

#include "engine/kernels/cpu/avx512_isa.h"
#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/row_kernels.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

// Loops over activation rows (NR <= 4) and unroll slots must be fully unrolled, or GCC keeps
// the accumulator arrays in memory.
#define BATON_UNROLL _Pragma("GCC unroll 8")

namespace baton::engine::kernels {
namespace {

BATON_AVX512_INLINE inline float Reduce(__m512 v) { return _mm512_reduce_add_ps(v); }

bool CpuSupported() {
#if defined(BATON_AVX512_EMULATED)
  return true;
#else
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          (!BATON_AVX512_VNNI || __builtin_cpu_supports("avx512vnni")) &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("f16c") &&
                          __builtin_cpu_supports("fma");
  return has;
#endif
}

// acc + the sums of each 4 consecutive products u8 * s8, per 32-bit lane (vpdpbusd), exactly.
// Without VNNI: vpmaddubsw adds pairs of products into int16 with saturation, which never
// happens here: every caller's unsigned operand is at most 31 (Q4/Q5 quants, all-ones
// bytes) and its signed one is an activation quant in [-127, 127]
// (QuantizeActivations rounds x * 127 / amax), so a pair is at most 2 * 31 * 127 = 7874.
BATON_AVX512_INLINE inline __m512i DotU8S8(__m512i acc, __m512i u, __m512i s) {
#if BATON_AVX512_VNNI
  return _mm512_dpbusd_epi32(acc, u, s);
#else
  const __m512i pairs = _mm512_maddubs_epi16(u, s);
  return _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)));
#endif
}

BATON_AVX512 float DotF32(const float* a, const float* b, int64_t k) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 32 <= k; j += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(b + j + 16), acc1);
  }
  for (; j < k; j += 16) {
    const __mmask16 mask = k - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (k - j)) - 1);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + j), _mm512_maskz_loadu_ps(mask, b + j),
                           acc0);
  }
  return Reduce(_mm512_add_ps(acc0, acc1));
}

// ---- Float-activation kernels (f32, f16, bf16 weights): exact products, fp32 accumulation. ----

// Loads 16 weights starting at element j as floats; `mask` selects the valid ones.
struct F32Weights {
  BATON_AVX512_INLINE static __m512 Load(const uint8_t* w, int64_t j, __mmask16 mask) {
    return _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(w) + j);
  }
};
struct F16Weights {
  BATON_AVX512_INLINE static __m512 Load(const uint8_t* w, int64_t j, __mmask16 mask) {
    return _mm512_cvtph_ps(
        _mm256_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(w) + j));
  }
};
struct Bf16Weights {
  BATON_AVX512_INLINE static __m512 Load(const uint8_t* w, int64_t j, __mmask16 mask) {
    const __m256i h = _mm256_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(w) + j);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
};

// Calls body(std::integral_constant<int, NR>, i0) for consecutive groups of NR <= 4 activation
// rows, so kernels decode each weight vector once per group.
template <typename Body>
BATON_AVX512_INLINE inline void ForRowGroups(int64_t m, Body&& body) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) body(std::integral_constant<int, 4>{}, i);
  switch (m - i) {
    case 3: return body(std::integral_constant<int, 3>{}, i);
    case 2: return body(std::integral_constant<int, 2>{}, i);
    case 1: return body(std::integral_constant<int, 1>{}, i);
  }
}

template <typename W, int NR>
BATON_AVX512 void FloatRows(const uint8_t* w_row, const RowArgs& a, int64_t i0, float* out,
                            int64_t out_stride) {
  constexpr int kUnroll = NR == 1 ? 4 : 2;  // independent FMA chains per activation row
  const int64_t k = a.k;
  const float* x[NR];
  __m512 acc[NR][kUnroll];
  BATON_UNROLL
  for (int r = 0; r < NR; ++r) {
    x[r] = a.x + (i0 + r) * k;
    BATON_UNROLL
    for (int u = 0; u < kUnroll; ++u) acc[r][u] = _mm512_setzero_ps();
  }
  int64_t j = 0;
  for (; j + 16 * kUnroll <= k; j += 16 * kUnroll) {
    BATON_UNROLL
    for (int u = 0; u < kUnroll; ++u) {
      const __m512 w = W::Load(w_row, j + 16 * u, 0xffff);
      BATON_UNROLL
      for (int r = 0; r < NR; ++r) {
        acc[r][u] = _mm512_fmadd_ps(w, _mm512_loadu_ps(x[r] + j + 16 * u), acc[r][u]);
      }
    }
  }
  for (; j < k; j += 16) {
    const __mmask16 mask = k - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (k - j)) - 1);
    const __m512 w = W::Load(w_row, j, mask);
    BATON_UNROLL
    for (int r = 0; r < NR; ++r) {
      acc[r][0] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(mask, x[r] + j), acc[r][0]);
    }
  }
  BATON_UNROLL
  for (int r = 0; r < NR; ++r) {
    __m512 sum = acc[r][0];
    BATON_UNROLL
    for (int u = 1; u < kUnroll; ++u) sum = _mm512_add_ps(sum, acc[r][u]);
    out[(i0 + r) * out_stride] = Reduce(sum);
  }
}

template <typename W>
BATON_AVX512 void FloatKernel(const uint8_t* w_row, const RowArgs& a, float* out,
                              int64_t out_stride) {
  ForRowGroups(a.m, [&](auto nr, int64_t i) BATON_AVX512_INLINE {
    const int64_t i0 = a.i0 + i;
    FloatRows<W, decltype(nr)::value>(w_row, a, i0, out, out_stride);
  });
}

// ---- 32-element block types against Q8 activations (one scale per 32). ----
// Each decoder turns block b into 32 unsigned quants; the activation's corr lanes already hold
// -bias * (sums of 4 activations), so vpdpbusd yields sum((q - bias) * x) per group of 4.

BATON_AVX512_INLINE inline __m256i LowHighNibbles(const uint8_t* qs) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}

struct Q4_1Decoder {
  using Block = BlockQ4_1;
  static constexpr bool kHasMin = true;
  BATON_AVX512_INLINE static __m256i Quants(const Block* b) { return LowHighNibbles(b->qs); }
};
struct Q5_0Decoder {
  using Block = BlockQ5_0;
  static constexpr bool kHasMin = false;
  BATON_AVX512_INLINE static __m256i Quants(const Block* b) {
    uint32_t qh;
    __builtin_memcpy(&qh, b->qh, 4);
    const __m256i high = _mm256_and_si256(_mm256_movm_epi8(qh), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(LowHighNibbles(b->qs), high);
  }
};

// Quants of blocks b and b + 1 in one register (lanes 0-7 block b, 8-15 block b + 1).
template <typename D>
BATON_AVX512_INLINE inline __m512i PairQuants(const typename D::Block* blk) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(D::Quants(blk)), D::Quants(blk + 1), 1);
}

// Per-lane weight scales of blocks b and b + 1: [dw0 x 8 lanes, dw1 x 8 lanes].
BATON_AVX512_INLINE inline __m512 PairWeightScales(uint16_t dw0, uint16_t dw1) {
  const __m128 w = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(dw0 | (uint32_t{dw1} << 16))));
  const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(w));
}

// The fp16 field at word kWord of blocks b..b+3 as four floats, gathered with one word permute
// (field j is word kWord + j * sizeof(Block) / 2). Masked loads touch only these four blocks.
template <typename Block, int kWord>
BATON_AVX512_INLINE inline __m128 QuadHalves(const Block* blk) {
  static_assert(sizeof(Block) % 2 == 0);
  constexpr int kStride = sizeof(Block) / 2;      // words per block
  constexpr int kWords = kWord + 3 * kStride + 1;  // words spanned by the four fields
  const auto* words = reinterpret_cast<const uint16_t*>(blk);
  const __m512i lo = _mm512_maskz_loadu_epi16(
      kWords >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((uint64_t{1} << kWords) - 1), words);
  const __m512i idx = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0, 0, 0, 0, kWord + 3 * kStride,
                                       kWord + 2 * kStride, kWord + kStride, kWord);
  __m512i fields;
  if constexpr (kWords > 32) {
    const __m512i hi = _mm512_maskz_loadu_epi16(
        static_cast<__mmask32>((uint64_t{1} << (kWords - 32)) - 1), words + 32);
    fields = _mm512_permutex2var_epi16(lo, idx, hi);
  } else {
    fields = _mm512_permutexvar_epi16(idx, lo);
  }
  return _mm_cvtph_ps(_mm512_castsi512_si128(fields));
}

// Per-lane weight scales of blocks b..b+3 as two pair vectors [d0 x 8, d1 x 8], [d2 x 8, d3 x 8].
template <typename Block>
BATON_AVX512_INLINE inline void QuadWeightScales(const Block* blk, __m512* pair01,
                                                 __m512* pair23) {
  static_assert(offsetof(Block, d) == 0);
  const __m128 d4 = QuadHalves<Block, 0>(blk);
  const __m512 w = _mm512_castps128_ps512(d4);
  *pair01 = _mm512_permutexvar_ps(
      _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), w);
  *pair23 = _mm512_permutexvar_ps(
      _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2), w);
}

// Dots one weight row with NR activation rows at once, two blocks per step, so each decoded
// block (and its scales) feeds NR vpdpbusd.
template <typename D, int NR>
BATON_AVX512 void Block32Rows(const typename D::Block* blk, int64_t nb, const Q8Activations& q8,
                              int64_t i0, float* out, int64_t out_stride) {
  __m512 acc[NR][2];
  float min_acc[NR];
  const int8_t* xq[NR];
  const float* xd8[NR];
  const int32_t* corr[NR];
  const float* xds[NR];
  BATON_UNROLL
  for (int r = 0; r < NR; ++r) {
    acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    min_acc[r] = 0.0f;
    xq[r] = q8.row_qs(i0 + r);
    xd8[r] = q8.row_d8(i0 + r);
    corr[r] = q8.row_corr(i0 + r);
    xds[r] = q8.row_dsum32(i0 + r);
  }
  // One step covers blocks b, b + 1 (kPair) or only b (the odd last block; upper lanes zero).
  auto step = [&](int64_t b, int u, auto pair, __m512 wscale) BATON_AVX512_INLINE {
    constexpr bool kPair = decltype(pair)::value;
    constexpr __mmask16 kLanes = kPair ? 0xffff : 0x00ff;
    constexpr __mmask64 kBytes = kPair ? ~0ull : 0xffffffffull;
    const __m512i q = kPair ? PairQuants<D>(blk + b) : _mm512_zextsi256_si512(D::Quants(blk + b));
    BATON_UNROLL
    for (int r = 0; r < NR; ++r) {
      const __m512i s = DotU8S8(_mm512_maskz_loadu_epi32(kLanes, corr[r] + 8 * b), q,
                                _mm512_maskz_loadu_epi8(kBytes, xq[r] + 32 * b));
      const __m512 scale = _mm512_mul_ps(wscale, _mm512_maskz_loadu_ps(kLanes, xd8[r] + 8 * b));
      acc[r][u] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc[r][u]);
    }
  };
  int64_t b = 0;
  // Offset term of the types with a per-block min m (Q4_1): sum_b m_b * d_x,b * sum(x quants).
  __m128 mins[NR];
  BATON_UNROLL
  for (int r = 0; r < NR; ++r) mins[r] = _mm_setzero_ps();
  for (; b + 4 <= nb; b += 4) {
    __m512 ws01, ws23;
    QuadWeightScales(blk + b, &ws01, &ws23);
    step(b, 0, std::true_type{}, ws01);
    step(b + 2, 1, std::true_type{}, ws23);
    if constexpr (D::kHasMin) {
      static_assert(offsetof(typename D::Block, m) == 2);
      const __m128 m4 = QuadHalves<typename D::Block, 1>(blk + b);
      BATON_UNROLL
      for (int r = 0; r < NR; ++r) mins[r] = _mm_fmadd_ps(m4, _mm_loadu_ps(xds[r] + b), mins[r]);
    }
  }
  const int64_t tail = b;
  if (b + 2 <= nb) {
    step(b, 0, std::true_type{}, PairWeightScales(blk[b].d, blk[b + 1].d));
    b += 2;
  }
  if (b < nb) step(b, 1, std::false_type{}, PairWeightScales(blk[b].d, 0));
  if constexpr (D::kHasMin) {
    BATON_UNROLL
    for (int r = 0; r < NR; ++r) {
      min_acc[r] = Reduce(_mm512_zextps128_ps512(mins[r]));
      for (int64_t t = tail; t < nb; ++t) min_acc[r] += _cvtsh_ss(blk[t].m) * xds[r][t];
    }
  }
  BATON_UNROLL
  for (int r = 0; r < NR; ++r) {
    out[(i0 + r) * out_stride] = Reduce(_mm512_add_ps(acc[r][0], acc[r][1])) + min_acc[r];
  }
}

template <typename D>
BATON_AVX512 void Block32Kernel(const uint8_t* w_row, const RowArgs& a, float* out,
                                int64_t out_stride) {
  const auto* blk = reinterpret_cast<const typename D::Block*>(w_row);
  ForRowGroups(a.m, [&](auto nr, int64_t i) BATON_AVX512_INLINE {
    const int64_t i0 = a.i0 + i;
    Block32Rows<D, decltype(nr)::value>(blk, a.k / 32, *a.q8, i0, out, out_stride);
  });
}

// ---- Q8_0 with llama.cpp's exact rounding. ----
// ggml's x86 Q8_0 dot keeps 8 float lanes per output; lane i takes, block after block, one fma
// of (fp32 weight scale * activation scale) with the exact integer dot of elements 4i..4i+3.
// Following that order (rather than Block32Rows' two blocks per vector) makes the results
// bit-identical to llama.cpp's, so greedy generation reproduces its tokens.

// Sum of the 8 lanes in ggml's order: halves added lane-wise, then lanes {0,2} and {1,3},
// then the two partial sums.
BATON_AVX512_INLINE inline float SumLanesGgmlOrder(__m256 v) {
  const __m128 four = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  const __m128 two = _mm_add_ps(four, _mm_shuffle_ps(four, four, _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm_cvtss_f32(two) + _mm_cvtss_f32(_mm_shuffle_ps(two, two, _MM_SHUFFLE(1, 1, 1, 1)));
}

// The exact sums of each 4 consecutive products of Q8_0 weight quants w and activation quants x
// (both signed), per 32-bit lane; `corr` holds the activation's corr lanes (bias 128).
BATON_AVX512_INLINE inline __m256i Q8_0Dot(const int32_t* corr, __m256i w, __m256i x) {
#if BATON_AVX512_VNNI
  // vpdpbusd takes unsigned weights: w + 128 (the sign bit flipped), whose bias the corr lanes
  // (-128 * the sum of each 4 activation quants) remove exactly.
  const __m256i biased = _mm256_xor_si256(w, _mm256_set1_epi8(static_cast<char>(0x80)));
  return _mm256_dpbusd_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr)), biased,
                             x);
#else
  // w + 128 reaches 255, where vpmaddubsw's int16 pair sums could saturate; |w| (<= 128) times
  // x carrying w's sign (|x| <= 127) stays within 2 * 128 * 127 = 32512.
  (void)corr;
  const __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
#endif
}

template <int NR>
BATON_AVX512 void Q8_0Rows(const BlockQ8_0* blk, int64_t nb, const Q8Activations& q8, int64_t i0,
                           float* out, int64_t out_stride) {
  __m256 acc[NR];
  const int8_t* xq[NR];
  const float* xd[NR];
  const int32_t* corr[NR];
  BATON_UNROLL
  for (int r = 0; r < NR; ++r) {
    acc[r] = _mm256_setzero_ps();
    xq[r] = q8.row_qs(i0 + r);
    xd[r] = q8.row_d(i0 + r);
    corr[r] = q8.row_corr(i0 + r);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[b].qs));
    const float wd = _cvtsh_ss(blk[b].d);
    BATON_UNROLL
    for (int r = 0; r < NR; ++r) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[r] + 32 * b));
      const __m256i s = Q8_0Dot(corr[r] + 8 * b, w, x);
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(wd * xd[r][b]), _mm256_cvtepi32_ps(s), acc[r]);
    }
  }
  BATON_UNROLL
  for (int r = 0; r < NR; ++r) out[(i0 + r) * out_stride] = SumLanesGgmlOrder(acc[r]);
}

BATON_AVX512 void Q8_0Kernel(const uint8_t* w_row, const RowArgs& a, float* out,
                             int64_t out_stride) {
  const auto* blk = reinterpret_cast<const BlockQ8_0*>(w_row);
  ForRowGroups(a.m, [&](auto nr, int64_t i) BATON_AVX512_INLINE {
    Q8_0Rows<decltype(nr)::value>(blk, a.k / 32, *a.q8, a.i0 + i, out, out_stride);
  });
}

// ---- K types against Q8 activations with one scale per 256. ----

// The eight 6-bit scales (low 8 bytes of *sc) and mins (*mn) of a Q5_K block, unpacked
// four at a time with 32-bit word operations (same result as UnpackScaleMinK4).
BATON_AVX512_INLINE inline void UnpackScalesMinsK4(const uint8_t* packed, uint64_t* sc,
                                                   uint64_t* mn) {
  uint32_t u[3];
  __builtin_memcpy(u, packed, 12);
  const uint32_t sc_lo = u[0] & 0x3f3f3f3f;
  const uint32_t mn_lo = u[1] & 0x3f3f3f3f;
  const uint32_t sc_hi = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
  const uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
  *sc = sc_lo | (uint64_t{sc_hi} << 32);
  *mn = mn_lo | (uint64_t{mn_hi} << 32);
}

template <int NR>
BATON_AVX512 void Q5_KRows(const uint8_t* w_row, const RowArgs& a, int64_t i0, float* out,
                           int64_t out_stride) {
  const auto* blk = reinterpret_cast<const BlockQ5_K*>(w_row);
  const int64_t nb = a.k / kQkK;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const int8_t* xq[NR];
  const float* xd[NR];
  const int32_t* sum32[NR];
  __m512 acc[NR];
  __m256 min_acc[NR];  // per-sub-block dmin * mn * sum(x) terms, reduced once at the end
  BATON_UNROLL
  for (int r = 0; r < NR; ++r) {
    xq[r] = a.q8->row_qs(i0 + r);
    xd[r] = a.q8->row_d(i0 + r);
    sum32[r] = a.q8->row_sum32(i0 + r);
    acc[r] = _mm512_setzero_ps();
    min_acc[r] = _mm256_setzero_ps();
  }
  for (int64_t sb = 0; sb < nb; ++sb) {
    const BlockQ5_K& w = blk[sb];
    uint64_t sc8, mn8;
    UnpackScalesMinsK4(w.scales, &sc8, &mn8);
    const __m512i sc16 = _mm512_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(sc8)));
    const __m256i mins = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(mn8)));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh));
    __m512i isum[NR];
    BATON_UNROLL
    for (int r = 0; r < NR; ++r) isum[r] = _mm512_setzero_si512();
    BATON_UNROLL
    for (int c = 0; c < 4; ++c) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * c));
      const __m256i one = _mm256_set1_epi8(1);
      const __m256i lo = _mm256_or_si256(
          _mm256_and_si256(v, low4),
          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
      const __m256i hi = _mm256_or_si256(
          _mm256_and_si256(_mm256_srli_epi16(v, 4), low4),
          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
      const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
      // Lanes 0-7 belong to sub-block 2c, lanes 8-15 to 2c + 1.
      const __m512i scales = _mm512_permutexvar_epi32(
          _mm512_set_epi32(2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c + 1,
                           2 * c + 1, 2 * c + 1, 2 * c, 2 * c, 2 * c, 2 * c, 2 * c, 2 * c, 2 * c,
                           2 * c),
          sc16);
      BATON_UNROLL
      for (int r = 0; r < NR; ++r) {
        const __m512i p =
            DotU8S8(_mm512_setzero_si512(), q, _mm512_loadu_si512(xq[r] + kQkK * sb + 64 * c));
        isum[r] = _mm512_add_epi32(isum[r], _mm512_mullo_epi32(p, scales));
      }
    }
    const float d = _cvtsh_ss(w.d), dmin = _cvtsh_ss(w.dmin);
    BATON_UNROLL
    for (int r = 0; r < NR; ++r) {
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r]), _mm512_set1_ps(d * xd[r][sb]), acc[r]);
      const __m256i m = _mm256_mullo_epi32(
          mins, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sum32[r] + 8 * sb)));
      min_acc[r] =
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), _mm256_set1_ps(dmin * xd[r][sb]), min_acc[r]);
    }
  }
  BATON_UNROLL
  for (int r = 0; r < NR; ++r) {
    out[(i0 + r) * out_stride] = Reduce(acc[r]) - Reduce(_mm512_zextps256_ps512(min_acc[r]));
  }
}

BATON_AVX512 void Q5_KKernel(const uint8_t* w_row, const RowArgs& a, float* out,
                             int64_t out_stride) {
  ForRowGroups(a.m, [&](auto nr, int64_t i) BATON_AVX512_INLINE {
    const int64_t i0 = a.i0 + i;
    Q5_KRows<decltype(nr)::value>(w_row, a, i0, out, out_stride);
  });
}

BATON_AVX512 void QuantizeActivationRowsAvx512(const float* x, int64_t i0, int64_t i1,
                                               Q8Activations* out) {
  const int64_t k = out->k;
  const int block = out->block;
  const int bias = out->bias;
  const __m512 sign_off = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  const __m512i ones = _mm512_set1_epi8(1);
  const __m512i neg_bias = _mm512_set1_epi32(-bias);
  for (int64_t b = i0 * (k / block); b < i1 * (k / block); ++b) {
    const float* xb = x + b * block;
    __m512 amax = _mm512_setzero_ps();
    for (int j = 0; j < block; j += 16) {
      amax = _mm512_max_ps(amax, _mm512_and_ps(_mm512_loadu_ps(xb + j), sign_off));
    }
    const float max_abs = _mm512_reduce_max_ps(amax);
    float d = max_abs / 127.0f;
    float inv = d != 0.0f ? 1.0f / d : 0.0f;
    if (block == 32) {  // ggml's rounding, as in QuantizeActivations
      inv = max_abs != 0.0f ? 127.0f / max_abs : 0.0f;
      if (__builtin_isinf(inv)) inv = 0.0f;
      d = _cvtsh_ss(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
    }
    const __m512 id = _mm512_set1_ps(inv);
    out->d[b] = d;
    if (block == 32) _mm256_storeu_ps(out->d8.data() + 8 * b, _mm256_set1_ps(d));
    int8_t* q = out->qs.data() + b * block;
    for (int j = 0; j < block; j += 16) {
      // Round to nearest even (the default MXCSR mode), as the scalar std::nearbyint does.
      const __m512i qi = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xb + j), id));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + j), _mm512_cvtsepi32_epi8(qi));
    }
  }
  // Sums of 4 consecutive quants are exactly the integer dot product with all-ones bytes.
  const int64_t end = i1 * k;
  for (int64_t j = i0 * k; j < end; j += 64) {
    const bool full = end - j >= 64;  // k is a multiple of 32
    const __m512i q = _mm512_maskz_loadu_epi8(full ? ~0ull : 0xffffffffull, out->qs.data() + j);
    const __m512i sum4 = DotU8S8(_mm512_setzero_si512(), ones, q);
    _mm512_mask_storeu_epi32(out->corr.data() + j / 4, full ? 0xffff : 0x00ff,
                             _mm512_mullo_epi32(sum4, neg_bias));
    out->sum32[j / 32] = _mm512_mask_reduce_add_epi32(0x00ff, sum4);
    if (full) out->sum32[j / 32 + 1] = _mm512_mask_reduce_add_epi32(0xff00, sum4);
  }
  FillDsum32(i0, i1, out);
  FillSum16(i0, i1, out);
}

KernelChoice Avx512Kernel(TensorType t) {
  if (!CpuSupported()) return {};
  constexpr const char* kName = BATON_AVX512_KERNEL_NAME;
  switch (t) {
    case TensorType::kF32:
      return {FloatKernel<F32Weights>, ActivationForm::kFloat, 0, "avx512-f32"};
    case TensorType::kF16:
      return {FloatKernel<F16Weights>, ActivationForm::kFloat, 0, "avx512-f16c"};
    case TensorType::kBF16:
      return {FloatKernel<Bf16Weights>, ActivationForm::kFloat, 0, "avx512-bf16"};
    case TensorType::kQ4_1:
      return {Block32Kernel<Q4_1Decoder>, ActivationForm::kQ8Block32, 0, kName};
    case TensorType::kQ5_0:
      return {Block32Kernel<Q5_0Decoder>, ActivationForm::kQ8Block32, 16, kName};
    case TensorType::kQ8_0:
      return {Q8_0Kernel, ActivationForm::kQ8Block32, 128, BATON_AVX512_KERNEL_NAME "-ggml"};
    case TensorType::kQ5_K:
      return {Q5_KKernel, ActivationForm::kQ8Block256, 0, kName};
    default:  // MatMul falls back to the AVX2 kernel. Q4_0, Q4_K and Q6_K have none here: the
              // AVX2 tiles beat rows from a few activation rows on, and AVX2's own rows round
              // as those tiles, so a row's products do not depend on the batch.
      return {};
  }
}

}  // namespace

extern const Avx512Family BATON_AVX512_FAMILY;
const Avx512Family BATON_AVX512_FAMILY = {CpuSupported, Avx512Kernel, DotF32,
                                          QuantizeActivationRowsAvx512};

}  // namespace baton::engine::kernels
