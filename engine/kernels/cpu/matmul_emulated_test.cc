// The shared MatMul tests (matmul_test_body.h) on the emulated builds of the AVX-512 kernels:
// every AVX-512 kernel, with and without VNNI, runs on any CPU.
#include "engine/kernels/cpu/avx512_emulated.h"
#include "engine/kernels/cpu/matmul.h"
#include "engine/kernels/cpu/matmul_test_body.h"
#include "gtest/gtest.h"

namespace baton::engine::kernels {
namespace {

constexpr Avx512Builds kEmulated = {"emulated", &kAvx512VnniEmulatedKernels,
                                    &kAvx512EmulatedKernels};

INSTANTIATE_TEST_SUITE_P(
    Avx512Tiers, MatMulTest,
    ::testing::Combine(::testing::ValuesIn(kAllTensorTypes),
                       ::testing::Values(KernelVariant::kAvx512, KernelVariant::kAvx512Vnni),
                       ::testing::Values(kEmulated)),
    MatMulTestName);

INSTANTIATE_TEST_SUITE_P(Emulated, KernelTiersTest, ::testing::Values(kEmulated),
                         KernelTiersTestName);

}  // namespace
}  // namespace baton::engine::kernels
