// Test hooks of MatMul (matmul.h): run the AVX-512 tiers on builds of the kernels other than the
// native ones, e.g. the emulated builds (avx512_emulated.h) on a CPU without AVX-512.
// Not thread-safe with concurrent MatMul calls.
#pragma once

#include "engine/kernels/cpu/row_kernels.h"

namespace baton::engine::kernels {

// Makes KernelVariant::kAvx512Vnni use `vnni` and kAvx512 use `no_vnni` (CpuSupportsKernelVariant
// then asks them); nullptr restores the native build of that tier.
void SetAvx512FamiliesForTesting(const Avx512Family* vnni, const Avx512Family* no_vnni);

}  // namespace baton::engine::kernels
