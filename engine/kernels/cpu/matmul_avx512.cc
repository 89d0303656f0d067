// AVX-512 row kernels. Every function here carries a target attribute, so the file compiles
// without global -m flags; callers reach them only after the runtime CPU check.
#include <immintrin.h>

#include <type_traits>

#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/row_kernels.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define BATON_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512bf16,avx512dq,f16c,fma,avx2")))

namespace baton::engine::kernels {
namespace {

BATON_AVX512 inline float Reduce(__m512 v) { return _mm512_reduce_add_ps(v); }

}  // namespace

bool CpuHasAvx512Kernels() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512vnni") &&
                          __builtin_cpu_supports("avx512bf16") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("f16c") &&
                          __builtin_cpu_supports("fma");
  return has;
}

BATON_AVX512 float DotF32Avx512(const float* a, const float* b, int64_t k) {
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


namespace {

// ---- Float-activation kernels (f32, f16, bf16 weights): exact products, fp32 accumulation. ----

// Loads 16 weights starting at element j as floats; `mask` selects the valid ones.
struct F32Weights {
  BATON_AVX512 static __m512 Load(const uint8_t* w, int64_t j, __mmask16 mask) {
    return _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(w) + j);
  }
};
struct F16Weights {
  BATON_AVX512 static __m512 Load(const uint8_t* w, int64_t j, __mmask16 mask) {
    return _mm512_cvtph_ps(
        _mm256_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(w) + j));
  }
};
struct Bf16Weights {
  BATON_AVX512 static __m512 Load(const uint8_t* w, int64_t j, __mmask16 mask) {
    const __m256i h = _mm256_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(w) + j);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
};

template <typename W>
BATON_AVX512 void FloatKernel(const uint8_t* w_row, const RowArgs& a, float* out,
                              int64_t out_stride) {
  const int64_t k = a.k;
  for (int64_t i = 0; i < a.m; ++i) {
    const float* x = a.x + i * k;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 64 <= k; j += 64) {
      acc0 = _mm512_fmadd_ps(W::Load(w_row, j, 0xffff), _mm512_loadu_ps(x + j), acc0);
      acc1 = _mm512_fmadd_ps(W::Load(w_row, j + 16, 0xffff), _mm512_loadu_ps(x + j + 16), acc1);
      acc2 = _mm512_fmadd_ps(W::Load(w_row, j + 32, 0xffff), _mm512_loadu_ps(x + j + 32), acc2);
      acc3 = _mm512_fmadd_ps(W::Load(w_row, j + 48, 0xffff), _mm512_loadu_ps(x + j + 48), acc3);
    }
    for (; j < k; j += 16) {
      const __mmask16 mask = k - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (k - j)) - 1);
      acc0 = _mm512_fmadd_ps(W::Load(w_row, j, mask), _mm512_maskz_loadu_ps(mask, x + j), acc0);
    }
    out[i * out_stride] =
        Reduce(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
  }
}

// ---- 32-element block types against Q8 activations (one scale per 32). ----
// Each decoder turns block b into 32 unsigned quants; the activation's corr lanes already hold
// -bias * (sums of 4 activations), so vpdpbusd yields sum((q - bias) * x) per group of 4.

BATON_AVX512 inline __m256i LowHighNibbles(const uint8_t* qs) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}

struct Q4_0Decoder {
  using Block = BlockQ4_0;
  static constexpr bool kHasMin = false;
  BATON_AVX512 static __m256i Quants(const Block* b) { return LowHighNibbles(b->qs); }
};
struct Q4_1Decoder {
  using Block = BlockQ4_1;
  static constexpr bool kHasMin = true;
  BATON_AVX512 static __m256i Quants(const Block* b) { return LowHighNibbles(b->qs); }
};
struct Q5_0Decoder {
  using Block = BlockQ5_0;
  static constexpr bool kHasMin = false;
  BATON_AVX512 static __m256i Quants(const Block* b) {
    uint32_t qh;
    __builtin_memcpy(&qh, b->qh, 4);
    const __m256i high = _mm256_and_si256(_mm256_movm_epi8(qh), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(LowHighNibbles(b->qs), high);
  }
};
struct Q8_0Decoder {
  using Block = BlockQ8_0;
  static constexpr bool kHasMin = false;
  BATON_AVX512 static __m256i Quants(const Block* b) {
    // Signed to unsigned by adding 128 (the activation's bias is 128).
    return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qs)),
                            _mm256_set1_epi8(static_cast<char>(0x80)));
  }
};

template <typename D>
BATON_AVX512 inline __m256 Block32Step(const typename D::Block* blk, int64_t b, const int8_t* xq,
                                       const float* xd, const int32_t* corr,
                                       const int32_t* sum32, __m256 acc, float* min_acc) {
  const __m256i s = _mm256_dpbusd_epi32(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr + 8 * b)), D::Quants(blk + b),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b)));
  if constexpr (D::kHasMin) {
    *min_acc += _cvtsh_ss(blk[b].m) * xd[b] * static_cast<float>(sum32[b]);
  }
  const float scale = _cvtsh_ss(blk[b].d) * xd[b];
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(scale), acc);
}

template <typename D>
BATON_AVX512 void Block32Kernel(const uint8_t* w_row, const RowArgs& a, float* out,
                                int64_t out_stride) {
  const auto* blk = reinterpret_cast<const typename D::Block*>(w_row);
  const int64_t nb = a.k / 32;
  for (int64_t i = 0; i < a.m; ++i) {
    const int8_t* xq = a.q8->row_qs(i);
    const float* xd = a.q8->row_d(i);
    const int32_t* corr = a.q8->row_corr(i);
    const int32_t* sum32 = a.q8->row_sum32(i);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    float min_acc = 0.0f;
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4) {
      acc0 = Block32Step<D>(blk, b, xq, xd, corr, sum32, acc0, &min_acc);
      acc1 = Block32Step<D>(blk, b + 1, xq, xd, corr, sum32, acc1, &min_acc);
      acc2 = Block32Step<D>(blk, b + 2, xq, xd, corr, sum32, acc2, &min_acc);
      acc3 = Block32Step<D>(blk, b + 3, xq, xd, corr, sum32, acc3, &min_acc);
    }
    for (; b < nb; ++b) acc0 = Block32Step<D>(blk, b, xq, xd, corr, sum32, acc0, &min_acc);
    const __m256 acc = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
    out[i * out_stride] = Reduce(_mm512_castps256_ps512(acc)) + min_acc;
  }
}

// ---- K types against Q8 activations with one scale per 256. ----

// [a x 8 lanes, b x 8 lanes] as int32.
BATON_AVX512 inline __m512i TwoScales(int32_t a, int32_t b) {
  return _mm512_inserti64x4(_mm512_set1_epi32(a), _mm256_set1_epi32(b), 1);
}

template <bool kFiveBit>
BATON_AVX512 void QK4Kernel(const uint8_t* w_row, const RowArgs& a, float* out,
                            int64_t out_stride) {
  using Block = std::conditional_t<kFiveBit, BlockQ5_K, BlockQ4_K>;
  const auto* blk = reinterpret_cast<const Block*>(w_row);
  const int64_t nb = a.k / kQkK;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int64_t i = 0; i < a.m; ++i) {
    const int8_t* xq = a.q8->row_qs(i);
    const float* xd = a.q8->row_d(i);
    const int32_t* sum32 = a.q8->row_sum32(i);
    __m512 acc = _mm512_setzero_ps();
    float min_acc = 0.0f;
    for (int64_t sb = 0; sb < nb; ++sb) {
      const Block& w = blk[sb];
      uint8_t sc[8], mn[8];
      int32_t mins = 0;
      for (int s = 0; s < 8; ++s) {
        UnpackScaleMinK4(w.scales, s, &sc[s], &mn[s]);
        mins += mn[s] * sum32[8 * sb + s];
      }
      __m256i qh = _mm256_setzero_si256();
      if constexpr (kFiveBit) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh));
      __m512i isum = _mm512_setzero_si512();
      for (int c = 0; c < 4; ++c) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * c));
        __m256i lo = _mm256_and_si256(v, low4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        if constexpr (kFiveBit) {
          const __m256i one = _mm256_set1_epi8(1);
          lo = _mm256_or_si256(lo, _mm256_slli_epi16(
                                       _mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
          hi = _mm256_or_si256(hi, _mm256_slli_epi16(
                                       _mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
        }
        const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q,
                                              _mm512_loadu_si512(xq + kQkK * sb + 64 * c));
        isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(p, TwoScales(sc[2 * c], sc[2 * c + 1])));
      }
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(_cvtsh_ss(w.d) * xd[sb]), acc);
      min_acc -= _cvtsh_ss(w.dmin) * xd[sb] * static_cast<float>(mins);
    }
    out[i * out_stride] = Reduce(acc) + min_acc;
  }
}

BATON_AVX512 void Q6_KKernel(const uint8_t* w_row, const RowArgs& a, float* out,
                             int64_t out_stride) {
  const auto* blk = reinterpret_cast<const BlockQ6_K*>(w_row);
  const int64_t nb = a.k / kQkK;
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i two_bits = _mm512_set1_epi8(0x03);
  // Lane L of a vpdpbusd over 64 quants covers quants 4L..4L+3, i.e. sub-block L / 4.
  const __m512i sub_of_lane = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  for (int64_t i = 0; i < a.m; ++i) {
    const int8_t* xq = a.q8->row_qs(i);
    const float* xd = a.q8->row_d(i);
    const int32_t* corr = a.q8->row_corr(i);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < nb; ++sb) {
      const BlockQ6_K& w = blk[sb];
      const __m512i sc16 =
          _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales)));
      __m512i isum = _mm512_setzero_si512();
      for (int h = 0; h < 2; ++h) {
        const __m512i ql = _mm512_loadu_si512(w.ql + 64 * h);
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh + 32 * h));
        const __m512i qh_a =
            _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
        const __m512i qh_b = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_srli_epi16(qh, 4)),
                                                _mm256_srli_epi16(qh, 6), 1);
        const __m512i q_lo = _mm512_or_si512(
            _mm512_and_si512(ql, low4), _mm512_slli_epi16(_mm512_and_si512(qh_a, two_bits), 4));
        const __m512i q_hi =
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                            _mm512_slli_epi16(_mm512_and_si512(qh_b, two_bits), 4));
        const int64_t e = kQkK * sb + 128 * h;  // first element of this half
        const __m512i p0 = _mm512_dpbusd_epi32(_mm512_loadu_si512(corr + e / 4), q_lo,
                                               _mm512_loadu_si512(xq + e));
        const __m512i p1 = _mm512_dpbusd_epi32(_mm512_loadu_si512(corr + (e + 64) / 4), q_hi,
                                               _mm512_loadu_si512(xq + e + 64));
        const __m512i idx0 = _mm512_add_epi32(sub_of_lane, _mm512_set1_epi32(8 * h));
        const __m512i idx1 = _mm512_add_epi32(sub_of_lane, _mm512_set1_epi32(8 * h + 4));
        isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(p0, _mm512_permutexvar_epi32(idx0, sc16)));
        isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(p1, _mm512_permutexvar_epi32(idx1, sc16)));
      }
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(_cvtsh_ss(w.d) * xd[sb]), acc);
    }
    out[i * out_stride] = Reduce(acc);
  }
}

}  // namespace

KernelChoice Avx512Kernel(TensorType t) {
  if (!CpuHasAvx512Kernels()) return {};
  switch (t) {
    case TensorType::kF32:
      return {FloatKernel<F32Weights>, ActivationForm::kFloat, 0, "avx512-f32"};
    case TensorType::kF16:
      return {FloatKernel<F16Weights>, ActivationForm::kFloat, 0, "avx512-f16c"};
    case TensorType::kBF16:
      return {FloatKernel<Bf16Weights>, ActivationForm::kFloat, 0, "avx512-bf16"};
    case TensorType::kQ4_0:
      return {Block32Kernel<Q4_0Decoder>, ActivationForm::kQ8Block32, 8, "avx512vnni"};
    case TensorType::kQ4_1:
      return {Block32Kernel<Q4_1Decoder>, ActivationForm::kQ8Block32, 0, "avx512vnni"};
    case TensorType::kQ5_0:
      return {Block32Kernel<Q5_0Decoder>, ActivationForm::kQ8Block32, 16, "avx512vnni"};
    case TensorType::kQ8_0:
      return {Block32Kernel<Q8_0Decoder>, ActivationForm::kQ8Block32, 128, "avx512vnni"};
    case TensorType::kQ4_K:
      return {QK4Kernel<false>, ActivationForm::kQ8Block256, 0, "avx512vnni"};
    case TensorType::kQ5_K:
      return {QK4Kernel<true>, ActivationForm::kQ8Block256, 0, "avx512vnni"};
    case TensorType::kQ6_K:
      return {Q6_KKernel, ActivationForm::kQ8Block256, 32, "avx512vnni"};
  }
  return {};
}

}  // namespace baton::engine::kernels
