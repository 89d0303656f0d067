// The per-weight-row kernels MatMul dispatches to. Internal to engine/kernels/cpu.
// A kernel computes out[i * out_stride] = dot(weight row, activation row i) for
// a.i0 <= i < a.i0 + a.m.
// Stateless: thread-safe.
#pragma once

#include <cstdint>

#include "engine/kernels/cpu/activations.h"
#include "engine/tensor/tensor_type.h"

namespace baton::engine::kernels {

// How a kernel wants the activations prepared (once per MatMul).
enum class ActivationForm { kFloat, kQ8Block32, kQ8Block256 };

struct RowArgs {
  int64_t i0 = 0;  // first activation row to use
  int64_t m = 0;   // number of activation rows to use
  int64_t k = 0;
  const float* x = nullptr;           // all activation rows, k floats each (always set)
  const Q8Activations* q8 = nullptr;  // set for kQ8Block32 / kQ8Block256
};

using RowKernel = void (*)(const uint8_t* w_row, const RowArgs& a, float* out,
                           int64_t out_stride);

struct KernelChoice {
  RowKernel kernel = nullptr;
  ActivationForm form = ActivationForm::kFloat;
  int bias = 0;  // Q8Activations::bias
  const char* name = "";
};

// One build of the AVX-512 kernels (matmul_avx512.cc, avx512_isa.h). MatMul takes from the
// family of the best kernel tier allowed: the row kernels, the dot product of its float path and
// the activation quantizer.
struct Avx512Family {
  // Whether this CPU can run the family (always true for the emulated test builds).
  bool (*cpu_supported)();
  // The kernel for `t`, or kernel == nullptr when there is none for this type or the CPU
  // cannot run the family.
  KernelChoice (*kernel)(TensorType t);
  // Dot product of two float vectors, in the family's own summation order.
  float (*dot_f32)(const float* a, const float* b, int64_t k);
  // QuantizeActivationRows (activations.h); identical results.
  void (*quantize_activation_rows)(const float* x, int64_t i0, int64_t i1, Q8Activations* out);
};

// AVX-512 F/BW/VL/DQ/VNNI with F16C and FMA: int8 dot products with vpdpbusd.
extern const Avx512Family kAvx512VnniKernels;
// AVX-512 F/BW/VL/DQ with F16C and FMA, no VNNI: the same kernels with vpmaddubsw + vpmaddwd in
// place of vpdpbusd (identical integer sums, so results equal kAvx512VnniKernels' bit for bit).
extern const Avx512Family kAvx512Kernels;

// The AVX2 kernel for `t` (requires AVX2, FMA and F16C, else kernel == nullptr): f32/f16/bf16
// rows summed in ggml's f32 order (bit-identical to DotF32Scalar over the dequantized row), the
// quantized types as integer dot products against Q8 activations (block 32 for the 32-element
// types, 256 for the K types and IQ4_XS); Q8_0 bit-identical to ScalarKernel.
KernelChoice Avx2Kernel(TensorType t);
// The quantized-type half of Avx2Kernel (avx2_quant_kernels.cc); same requirements.
KernelChoice Avx2QuantKernel(TensorType t);

// The portable kernel for `t` when its rounding must match ggml's exactly (Q8_0: the
// activations quantized by QuantizeActivations, block 32), else kernel == nullptr (MatMul
// then dequantizes rows and takes float dot products).
KernelChoice ScalarKernel(TensorType t);

// ---- Float dot products rounded as llama.cpp's reference build rounds them. ----
// ggml_vec_dot_f32 in that build (AVX-512, where the golden files come from): 64 fp32 lanes,
// lane l taking fma(a[i], b[i], lane) for every i = l (mod 64) below np = k & ~63; the lanes
// reduced as ggml's four 16-lane vectors (v0 + v2) + (v1 + v3), then halves of 16, of 8, then
// (0 + 2) + (1 + 3) (GCC's _mm512_reduce_add_ps); then the leftovers (AddDotF32Leftovers).
// ggml uses it for single-token products and for f32 weights whose rows are not a multiple of
// 16 long (stories260K's ffn_down, k = 172); prompt batches over other f32 weights go through
// llamafile's tinyBLAS there, whose order this does not follow.
inline constexpr int64_t kGgmlF32Lanes = 64;

// a . b in the order above; portable.
float DotF32Scalar(const float* a, const float* b, int64_t k);

// Adds a[i] * b[i] for begin <= i < k to s as GCC compiled ggml's leftover loop: in order,
// product and sum each rounded, except the last (k - begin) % 8, which it fused into fma.
float AddDotF32Leftovers(const float* a, const float* b, int64_t begin, int64_t k, float s);

// DotF32Scalar with AVX2 and FMA, bit for bit; requires CpuHasAvx2Kernels() (AVX2, FMA, F16C).
float DotF32Avx2(const float* a, const float* b, int64_t k);
bool CpuHasAvx2Kernels();

// QuantizeActivationRows (activations.h) with AVX2, bit for bit; requires CpuHasAvx2Kernels().
void QuantizeActivationRowsAvx2(const float* x, int64_t i0, int64_t i1, Q8Activations* out);

}  // namespace baton::engine::kernels
