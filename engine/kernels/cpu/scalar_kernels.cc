// Portable row kernels (no SIMD) for the types whose rounding must follow ggml's exactly, and
// the float dot product in ggml's order.
#include <cmath>
#include <cstdint>

#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/row_kernels.h"
#include "engine/tensor/fp16.h"

namespace baton::engine::kernels {
namespace {

// One Q8_0 weight row against one Q8 activation row, rounding as llama.cpp's x86 build does:
// 8 float lanes, lane i accumulating per block fma(dw * dx, exact dot of elements 4i..4i+3),
// then summed as (l0 + l4) + (l2 + l6) + ((l1 + l5) + (l3 + l7)).
float DotQ8_0(const BlockQ8_0* w, const int8_t* xq, const float* xd, int64_t nb) {
  float lane[8] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const float scale = Fp16ToFloat(w[b].d) * xd[b];
    const int8_t* x = xq + 32 * b;
    for (int l = 0; l < 8; ++l) {
      int32_t s = 0;
      for (int e = 4 * l; e < 4 * l + 4; ++e) s += int32_t{w[b].qs[e]} * x[e];
      lane[l] = std::fma(scale, static_cast<float>(s), lane[l]);
    }
  }
  float half[4];
  for (int l = 0; l < 4; ++l) half[l] = lane[l + 4] + lane[l];
  const float even = half[0] + half[2];
  const float odd = half[1] + half[3];
  return even + odd;
}

void Q8_0ScalarKernel(const uint8_t* w_row, const RowArgs& a, float* out, int64_t out_stride) {
  const auto* blk = reinterpret_cast<const BlockQ8_0*>(w_row);
  for (int64_t i = a.i0; i < a.i0 + a.m; ++i) {
    out[i * out_stride] = DotQ8_0(blk, a.q8->row_qs(i), a.q8->row_d(i), a.k / kQk);
  }
}

}  // namespace

float DotF32Scalar(const float* a, const float* b, int64_t k) {
  const int64_t np = k & ~(kGgmlF32Lanes - 1);
  float lane[kGgmlF32Lanes] = {};
  for (int64_t i = 0; i < np; i += kGgmlF32Lanes) {
    for (int l = 0; l < kGgmlF32Lanes; ++l) lane[l] = std::fma(a[i + l], b[i + l], lane[l]);
  }
  float v[16], h8[8], h4[4];
  for (int l = 0; l < 16; ++l) v[l] = (lane[l] + lane[l + 32]) + (lane[l + 16] + lane[l + 48]);
  for (int l = 0; l < 8; ++l) h8[l] = v[l] + v[l + 8];
  for (int l = 0; l < 4; ++l) h4[l] = h8[l] + h8[l + 4];
  return AddDotF32Leftovers(a, b, np, k, (h4[0] + h4[2]) + (h4[1] + h4[3]));
}

// In the reference build's libggml-cpu.so, GCC vectorized ggml's `sumf += x[i]*y[i]` into 16-
// and 8-wide multiplies added lane by lane and fused the scalar remainder. The BUILD turns off
// contraction so `s + a[i] * b[i]` stays two roundings here.
float AddDotF32Leftovers(const float* a, const float* b, int64_t begin, int64_t k, float s) {
  const int64_t fused_from = k - (k - begin) % 8;
  for (int64_t i = begin; i < fused_from; ++i) s = s + a[i] * b[i];
  for (int64_t i = fused_from; i < k; ++i) s = std::fma(a[i], b[i], s);
  return s;
}

KernelChoice ScalarKernel(TensorType t) {
  if (t == TensorType::kQ8_0) {
    return {Q8_0ScalarKernel, ActivationForm::kQ8Block32, 0, "scalar"};
  }
  return {};
}

}  // namespace baton::engine::kernels
