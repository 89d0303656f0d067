// The AVX-512 intrinsics of the kernels as portable code, for the emulated test builds of
// matmul_avx512.cc (avx512_isa.h; never part of a native build). SIMDe (SIMD Everywhere) provides
// them under their native names; this header adds those Debian 12's SIMDe (0.7.4) lacks,
// each written lane by lane from Intel's definition, and replaces SIMDe's fmadd, which rounds the
// product before adding it, with a fused multiply-add (the kernels' results depend on it).
// Never include <immintrin.h> after this header: SIMDe's aliases are macros over its names.
#pragma once

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#include <simde/x86/fma.h>

#include <cmath>
#include <cstdint>
#include <cstring>

// Lanes<> and the helpers below take vector types as template arguments on purpose.
#pragma GCC diagnostic ignored "-Wignored-attributes"

// Aliases SIMDe 0.7.4 gets wrong (_mm512_madd_epi16 takes four arguments there) or lacks.
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)
#define _mm512_shuffle_i64x2(a, b, imm8) simde_mm512_shuffle_i64x2(a, b, imm8)

using __mmask16 = simde__mmask16;
using __mmask32 = simde__mmask32;
using __mmask64 = simde__mmask64;

namespace baton::engine::kernels::emulation {

// The N lanes of type T of vector v.
template <typename T, int N, typename V>
struct Lanes {
  static_assert(sizeof(V) == sizeof(T) * N);
  explicit Lanes(const V& v) { std::memcpy(lane, &v, sizeof(V)); }
  Lanes() = default;
  V vector() const {
    V v;
    std::memcpy(&v, lane, sizeof(V));
    return v;
  }
  T lane[N] = {};
};

// Loads the lanes of p whose bit is set in `mask`, zero elsewhere; reads no other memory.
template <typename V, typename T, int N>
inline V MaskzLoad(uint64_t mask, const void* p) {
  Lanes<T, N, V> r;
  for (int i = 0; i < N; ++i) {
    if ((mask >> i) & 1) {
      std::memcpy(&r.lane[i], static_cast<const char*>(p) + i * sizeof(T), sizeof(T));
    }
  }
  return r.vector();
}

// Each lane of `from` (type F, N lanes) converted to type T (sign or zero extension).
template <typename To, typename T, typename V, typename F, int N>
inline To Extend(const V& v) {
  const Lanes<F, sizeof(V) / sizeof(F), V> in(v);
  Lanes<T, N, To> r;
  for (int i = 0; i < N; ++i) r.lane[i] = static_cast<T>(in.lane[i]);
  return r.vector();
}

template <typename To, typename From>
inline To ZeroExtend(const From& v) {
  To r;
  std::memset(&r, 0, sizeof(To));
  std::memcpy(&r, &v, sizeof(From));
  return r;
}

template <typename V>
inline V FusedMultiplyAdd(const V& a, const V& b, const V& c) {
  constexpr int kN = sizeof(V) / sizeof(float);
  const Lanes<float, kN, V> x(a), y(b), z(c);
  Lanes<float, kN, V> r;
  for (int i = 0; i < kN; ++i) r.lane[i] = std::fma(x.lane[i], y.lane[i], z.lane[i]);
  return r.vector();
}

}  // namespace baton::engine::kernels::emulation

#undef _mm_fmadd_ps
#undef _mm256_fmadd_ps
#undef _mm512_fmadd_ps
#define _mm_fmadd_ps(a, b, c) ::baton::engine::kernels::emulation::FusedMultiplyAdd<__m128>(a, b, c)
#define _mm256_fmadd_ps(a, b, c) \
  ::baton::engine::kernels::emulation::FusedMultiplyAdd<__m256>(a, b, c)
#define _mm512_fmadd_ps(a, b, c) \
  ::baton::engine::kernels::emulation::FusedMultiplyAdd<__m512>(a, b, c)

inline __m512 _mm512_maskz_loadu_ps(__mmask16 k, const void* p) {
  return baton::engine::kernels::emulation::MaskzLoad<__m512, float, 16>(k, p);
}
inline __m512i _mm512_maskz_loadu_epi32(__mmask16 k, const void* p) {
  return baton::engine::kernels::emulation::MaskzLoad<__m512i, int32_t, 16>(k, p);
}
inline __m512i _mm512_maskz_loadu_epi16(__mmask32 k, const void* p) {
  return baton::engine::kernels::emulation::MaskzLoad<__m512i, int16_t, 32>(k, p);
}
inline __m256i _mm256_maskz_loadu_epi16(__mmask16 k, const void* p) {
  return baton::engine::kernels::emulation::MaskzLoad<__m256i, int16_t, 16>(k, p);
}
inline __m512i _mm512_maskz_loadu_epi8(__mmask64 k, const void* p) {
  return baton::engine::kernels::emulation::MaskzLoad<__m512i, int8_t, 64>(k, p);
}

inline void _mm512_mask_storeu_epi32(void* p, __mmask16 k, __m512i v) {
  const baton::engine::kernels::emulation::Lanes<int32_t, 16, __m512i> in(v);
  for (int i = 0; i < 16; ++i) {
    if ((k >> i) & 1) std::memcpy(static_cast<char*>(p) + 4 * i, &in.lane[i], 4);
  }
}

inline __m512i _mm512_cvtepi8_epi32(__m128i v) {
  return baton::engine::kernels::emulation::Extend<__m512i, int32_t, __m128i, int8_t, 16>(v);
}
inline __m512i _mm512_cvtepu8_epi32(__m128i v) {
  return baton::engine::kernels::emulation::Extend<__m512i, int32_t, __m128i, uint8_t, 16>(v);
}
inline __m512i _mm512_cvtepu16_epi32(__m256i v) {
  return baton::engine::kernels::emulation::Extend<__m512i, int32_t, __m256i, uint16_t, 16>(v);
}
inline __m512 _mm512_cvtepi32_ps(__m512i v) {
  return baton::engine::kernels::emulation::Extend<__m512, float, __m512i, int32_t, 16>(v);
}

// Rounds with the current rounding mode (nearest even by default); out of range or NaN gives
// 0x80000000, the "integer indefinite" value.
inline __m512i _mm512_cvtps_epi32(__m512 v) {
  const baton::engine::kernels::emulation::Lanes<float, 16, __m512> in(v);
  baton::engine::kernels::emulation::Lanes<int32_t, 16, __m512i> r;
  for (int i = 0; i < 16; ++i) {
    const float f = std::nearbyint(in.lane[i]);
    r.lane[i] = f >= -2147483648.0f && f < 2147483648.0f ? static_cast<int32_t>(f) : INT32_MIN;
  }
  return r.vector();
}

inline __m512 _mm512_cvtph_ps(__m256i h) {
  const baton::engine::kernels::emulation::Lanes<__m128i, 2, __m256i> halves(h);
  const __m256 lo = simde_mm256_cvtph_ps(halves.lane[0]);
  const __m256 hi = simde_mm256_cvtph_ps(halves.lane[1]);
  baton::engine::kernels::emulation::Lanes<__m256, 2, __m512> r;
  r.lane[0] = lo;
  r.lane[1] = hi;
  return r.vector();
}

inline float _cvtsh_ss(uint16_t h) {
  return simde_mm_cvtss_f32(simde_mm_cvtph_ps(simde_mm_cvtsi32_si128(h)));
}
inline uint16_t _cvtss_sh(float f, int /*rounding: the kernels pass nearest*/) {
  const __m128i h = simde_mm_cvtps_ph(simde_mm_set_ss(f), SIMDE_MM_FROUND_TO_NEAREST_INT);
  return static_cast<uint16_t>(simde_mm_cvtsi128_si32(h));
}

// GCC's order: the 256-bit halves added, then the 128-bit halves, then lanes (0 + 2, 1 + 3),
// then those two.
inline float _mm512_reduce_add_ps(__m512 v) {
  const baton::engine::kernels::emulation::Lanes<float, 16, __m512> in(v);
  float t8[8], t4[4];
  for (int i = 0; i < 8; ++i) t8[i] = in.lane[i + 8] + in.lane[i];
  for (int i = 0; i < 4; ++i) t4[i] = t8[i + 4] + t8[i];
  return (t4[0] + t4[2]) + (t4[1] + t4[3]);
}
inline float _mm512_reduce_max_ps(__m512 v) {
  const baton::engine::kernels::emulation::Lanes<float, 16, __m512> in(v);
  float m = in.lane[0];
  for (int i = 1; i < 16; ++i) m = in.lane[i] > m ? in.lane[i] : m;
  return m;
}
inline int _mm512_mask_reduce_add_epi32(__mmask16 k, __m512i v) {
  const baton::engine::kernels::emulation::Lanes<uint32_t, 16, __m512i> in(v);
  uint32_t s = 0;
  for (int i = 0; i < 16; ++i) s += ((k >> i) & 1) ? in.lane[i] : 0u;
  return static_cast<int>(s);
}

inline __m512 _mm512_zextps128_ps512(__m128 v) {
  return baton::engine::kernels::emulation::ZeroExtend<__m512>(v);
}
inline __m512 _mm512_zextps256_ps512(__m256 v) {
  return baton::engine::kernels::emulation::ZeroExtend<__m512>(v);
}
inline __m512i _mm512_zextsi256_si512(__m256i v) {
  return baton::engine::kernels::emulation::ZeroExtend<__m512i>(v);
}
