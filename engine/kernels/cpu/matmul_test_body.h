// The MatMul tests every build of the kernels runs: matmul_test on the native builds (each tier
// this CPU supports), matmul_emulated_test on the emulated AVX-512 builds (avx512_emulated.h) on
// any CPU. Each test binary instantiates the suites below with its builds.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "engine/kernels/cpu/matmul.h"
#include "engine/kernels/cpu/row_kernels.h"
#include "engine/tensor/tensor_type.h"
#include "engine/threading/thread_pool.h"
#include "gtest/gtest.h"

namespace baton::engine::kernels {

// The builds behind the two AVX-512 tiers in a test (matmul_testing.h).
struct Avx512Builds {
  const char* name;              // in test names: "native", "emulated"
  const Avx512Family* vnni;      // behind KernelVariant::kAvx512Vnni
  const Avx512Family* no_vnni;   // behind KernelVariant::kAvx512
};
inline void PrintTo(const Avx512Builds& b, std::ostream* os) { *os << b.name; }
inline constexpr Avx512Builds kNativeAvx512Builds = {"native", &kAvx512VnniKernels,
                                                     &kAvx512Kernels};

// n normal(mean, 1) floats from seed.
std::vector<float> Gaussian(int64_t n, uint32_t seed, float mean = 0.0f);

// Expects every field of two quantizations to be equal (the SIMD quantizers against the scalar).
void ExpectSameActivations(const Q8Activations& got, const Q8Activations& want);

struct Shape {
  int64_t n_rows, k, m;
};

// Every type on one kernel tier (KernelVariant) of one build against the scalar reference;
// skipped when the CPU lacks the tier.
class MatMulTest
    : public ::testing::TestWithParam<std::tuple<TensorType, KernelVariant, Avx512Builds>> {
 protected:
  void SetUp() override;
  void TearDown() override;
  TensorType type() const { return std::get<0>(GetParam()); }
  KernelVariant variant() const { return std::get<1>(GetParam()); }
  const Avx512Builds& builds() const { return std::get<2>(GetParam()); }

  // Checks MatMul (on `pool`, or none) against MatMulReference on the same weights.
  void Check(const Shape& s, ThreadPool* pool);
  std::vector<Shape> Shapes() const;
};
std::string MatMulTestName(const ::testing::TestParamInfo<MatMulTest::ParamType>& info);

// Comparisons across the tiers of one build (each tier the CPU lacks is left out).
class KernelTiersTest : public ::testing::TestWithParam<Avx512Builds> {
 protected:
  void SetUp() override;
  void TearDown() override;
};
std::string KernelTiersTestName(const ::testing::TestParamInfo<Avx512Builds>& info);

}  // namespace baton::engine::kernels
