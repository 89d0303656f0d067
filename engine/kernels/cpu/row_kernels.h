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

// The AVX-512 kernel for `t`, or kernel == nullptr when there is none for this type or the CPU
// lacks AVX-512 F/BW/VL/DQ/VNNI, F16C and FMA.
KernelChoice Avx512Kernel(TensorType t);

// The portable kernel for `t` when its rounding must match ggml's exactly (Q8_0: the
// activations quantized by QuantizeActivations, block 32), else kernel == nullptr (MatMul
// then dequantizes rows and takes float dot products).
KernelChoice ScalarKernel(TensorType t);

// Dot product of two float vectors with AVX-512 (requires the CPU features above).
float DotF32Avx512(const float* a, const float* b, int64_t k);
bool CpuHasAvx512Kernels();

// QuantizeActivations (activations.h) with AVX-512; identical results.
void QuantizeActivationsAvx512(const float* x, int64_t m, int64_t k, int block, int bias,
                               Q8Activations* out);

}  // namespace baton::engine::kernels
