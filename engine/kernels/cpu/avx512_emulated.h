// The AVX-512 kernels built through SIMDe's portable intrinsics (avx512_isa.h): the same source
// as kAvx512VnniKernels and kAvx512Kernels (row_kernels.h), runnable on any CPU, so tests check
// the AVX-512 tiers on machines without AVX-512 (matmul_testing.h installs them). Test-only:
// far slower than the native builds.
#pragma once

#include "engine/kernels/cpu/row_kernels.h"

namespace baton::engine::kernels {

extern const Avx512Family kAvx512VnniEmulatedKernels;  // with VNNI's vpdpbusd
extern const Avx512Family kAvx512EmulatedKernels;      // with vpmaddubsw + vpmaddwd

}  // namespace baton::engine::kernels
