// Which tiled kernel reads a type, per instruction-set tier (tiled_kernels.h): the quantized
// types' register tiles and the Q4_0 kernel over repacked weights, each built for AVX2 and for
// AVX-512 VL + VNNI (bit-identical builds), and the F16/BF16 GEMM (avx2_float_gemm.h).
#include "engine/kernels/cpu/avx2_float_gemm.h"
#include "engine/kernels/cpu/row_kernels.h"
#include "engine/kernels/cpu/tiled_kernels.h"

namespace baton::engine::kernels {
namespace {

// The tiles of one build, with its kernel-name prefix.
TiledKernelChoice TiledKernelOf(const QuantTiledKernels& tiles, TensorType t) {
  switch (t) {
    case TensorType::kQ4_0:  // every m: bit-identical whatever the batch
      return {tiles.q4_0, ActivationForm::kQ8Block32, 0, tiles.q4_0_name, 1};
    case TensorType::kQ8_0:
      return {tiles.q8_0, ActivationForm::kQ8Block32, tiles.q8_0_bias, tiles.q8_0_name, 4};
    case TensorType::kQ4_K:
      return {tiles.q4_k, ActivationForm::kQ8Block256, 0, tiles.k_name, 4};
    case TensorType::kQ6_K:
      return {tiles.q6_k, ActivationForm::kQ8Block256, 0, tiles.k_name, 4};
    case TensorType::kF16:
      return {Avx2F16Gemm, ActivationForm::kFloat, 0, "avx2-tiled-f16c", kFloatGemmMinRows};
    case TensorType::kBF16:
      return {Avx2Bf16Gemm, ActivationForm::kFloat, 0, "avx2-tiled-bf16", kFloatGemmMinRows};
    default:
      return {};
  }
}

}  // namespace

bool CpuHasAvx512VnniTiles() {
  static const bool has = CpuHasAvx2Kernels() && __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512vnni");
  return has;
}

TiledKernelChoice Avx2TiledKernel(TensorType t) {
  if (!CpuHasAvx2Kernels()) return {};
  return TiledKernelOf(kAvx2QuantTiles, t);
}

TiledKernelChoice Avx512VnniTiledKernel(TensorType t) {
  if (!CpuHasAvx512VnniTiles()) return {};
  return TiledKernelOf(kAvx512VnniQuantTiles, t);
}

TiledKernelChoice Avx2PackedKernel(TensorType t) {
  if (!CpuHasAvx2Kernels()) return {};
  switch (t) {
    case TensorType::kQ4_0:
      return {PackedQ4_0Avx2, ActivationForm::kQ8Block32, 0, "avx2-packed", 1};
    case TensorType::kF16:
      return {Avx2RepackedF16Gemm, ActivationForm::kFloat, 0, "avx2-packed-f16c", 1};
    case TensorType::kBF16:
      return {Avx2RepackedBf16Gemm, ActivationForm::kFloat, 0, "avx2-packed-bf16", 1};
    default:
      return {};
  }
}

TiledKernelChoice Avx512VnniPackedKernel(TensorType t) {
  if (t != TensorType::kQ4_0 || !CpuHasAvx512VnniTiles()) return {};
  return {PackedQ4_0Vnni, ActivationForm::kQ8Block32, 0, "avx512vnni-packed", 1};
}

}  // namespace baton::engine::kernels
