// The instruction set matmul_avx512.cc compiles against. That one kernel source is compiled
// several times (BUILD.bazel), selected by two defines its cc_library sets:
//   BATON_AVX512_VNNI=1|0  int8 dot products with vpdpbusd (AVX-512 VNNI) or, without VNNI,
//                          with vpmaddubsw + vpmaddwd (same exact integer sums);
//   BATON_AVX512_EMULATED  (test-only builds) the intrinsics come from SIMDe (SIMD Everywhere)
//                          as portable code, so the kernels run on CPUs without AVX-512.
// Native builds include <immintrin.h> and put a target attribute on every function (no global
// -m flags); emulated builds never include <immintrin.h> (SIMDe's native aliases are macros
// that would rewrite GCC's own declarations) and carry no target attributes.
// Each build defines one external symbol, its Avx512Family (row_kernels.h): BATON_AVX512_FAMILY.
#pragma once

#if !defined(BATON_AVX512_VNNI)
#error "BATON_AVX512_VNNI must be set to 0 or 1 by the cc_library compiling the kernels"
#endif

#if defined(BATON_AVX512_EMULATED)
#include "engine/kernels/cpu/avx512_emulation.h"

#define BATON_AVX512
#define BATON_AVX512_INLINE __attribute__((always_inline))
#if BATON_AVX512_VNNI
#define BATON_AVX512_FAMILY kAvx512VnniEmulatedKernels
#else
#define BATON_AVX512_FAMILY kAvx512EmulatedKernels
#endif

#else  // native
#include <immintrin.h>

#if BATON_AVX512_VNNI
#define BATON_AVX512_TARGET "avx512f,avx512bw,avx512vl,avx512vnni,avx512dq,f16c,fma,avx2"
#define BATON_AVX512_FAMILY kAvx512VnniKernels
#else
#define BATON_AVX512_TARGET "avx512f,avx512bw,avx512vl,avx512dq,f16c,fma,avx2"
#define BATON_AVX512_FAMILY kAvx512Kernels
#endif
#define BATON_AVX512 __attribute__((target(BATON_AVX512_TARGET)))
// Helpers and lambdas in the inner loops: GCC otherwise leaves some out of line, which forces
// the accumulator arrays through memory.
#define BATON_AVX512_INLINE __attribute__((always_inline, target(BATON_AVX512_TARGET)))
#endif

// Prefix of the kernel names the build reports (MatMulKernelName).
#if BATON_AVX512_VNNI
#define BATON_AVX512_KERNEL_NAME "avx512vnni"
#else
#define BATON_AVX512_KERNEL_NAME "avx512"
#endif
