#include "engine/kernels/cpu/activations.h"

#include <algorithm>
#include <cmath>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "engine/tensor/fp16.h"

namespace baton::engine::kernels {
namespace {

// static_cast<int8_t>(std::nearbyintf(v)) for |v| <= 127.5, in the default rounding mode (to
// nearest, ties to even). Baseline x86-64 has no roundss, so GCC makes nearbyintf a libm call
// per quant (~10 us per 2048-element decode row); cvtss2si rounds in the MXCSR mode, the same.
inline int8_t RoundToInt8(float v) {
#if defined(__SSE__)
  return static_cast<int8_t>(_mm_cvtss_si32(_mm_set_ss(v)));
#else
  return static_cast<int8_t>(std::nearbyintf(v));
#endif
}

}  // namespace

void ResizeActivations(int64_t m, int64_t k, int block, int bias, Q8Activations* out) {
  out->m = m;
  out->k = k;
  out->block = block;
  out->bias = bias;
  out->qs.resize(m * k);
  out->d.resize(m * (k / block));
  out->corr.resize(m * (k / 4));
  out->sum32.resize(m * (k / 32));
  out->d8.resize(block == 32 ? m * (k / 32) * 8 : 0);
  out->dsum32.resize(block == 32 ? m * (k / 32) : 0);
  out->sum16.resize(block == 256 ? m * (k / 16) : 0);
}

void FillDsum32(int64_t i0, int64_t i1, Q8Activations* out) {
  if (out->block != 32) return;
  const int64_t k = out->k;
  for (int64_t b = i0 * (k / 32); b < i1 * (k / 32); ++b) {
    out->dsum32[b] = out->d[b] * out->sum32[b];
  }
}

void FillSum16(int64_t i0, int64_t i1, Q8Activations* out) {
  if (out->block != 256) return;
  const int64_t k = out->k;
  for (int64_t g = i0 * (k / 16); g < i1 * (k / 16); ++g) {
    const int8_t* q = out->qs.data() + 16 * g;
    int16_t s = 0;
    for (int j = 0; j < 16; ++j) s = static_cast<int16_t>(s + q[j]);  // |s| <= 16 * 127
    out->sum16[g] = s;
  }
}

void QuantizeActivationRows(const float* x, int64_t i0, int64_t i1, Q8Activations* out) {
  const int64_t k = out->k;
  const int block = out->block;
  for (int64_t i = i0 * (k / block); i < i1 * (k / block); ++i) {
    const float* xb = x + i * block;
    float amax = 0.0f;
    for (int j = 0; j < block; ++j) amax = std::max(amax, std::fabs(xb[j]));
    // Block 32 follows ggml's quantize_row_q8_0: the scale kept is fp16(amax / 127) and the
    // quants use 127 / amax, so Q8_0 products round exactly as llama.cpp's do.
    const float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    out->d[i] = d;
    if (block == 32) {
      id = amax != 0.0f ? 127.0f / amax : 0.0f;
      if (std::isinf(id)) id = 0.0f;  // amax below ~4e-37 (ggml would produce NaN quants)
      out->d[i] = Fp16ToFloat(FloatToFp16(d));
    }
    int8_t* q = out->qs.data() + i * block;
    for (int j = 0; j < block; ++j) q[j] = RoundToInt8(xb[j] * id);
  }
  if (block == 32) {
    for (int64_t j = i0 * (k / 32) * 8; j < i1 * (k / 32) * 8; ++j) out->d8[j] = out->d[j / 8];
  }
  for (int64_t g = i0 * (k / 4); g < i1 * (k / 4); ++g) {
    const int8_t* q = out->qs.data() + 4 * g;
    out->corr[g] = -out->bias * (q[0] + q[1] + q[2] + q[3]);
  }
  for (int64_t g = i0 * (k / 32); g < i1 * (k / 32); ++g) {
    const int8_t* q = out->qs.data() + 32 * g;
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) s += q[j];
    out->sum32[g] = s;
  }
  FillDsum32(i0, i1, out);
  FillSum16(i0, i1, out);
}

void QuantizeActivations(const float* x, int64_t m, int64_t k, int block, int bias,
                         Q8Activations* out) {
  ResizeActivations(m, k, block, bias, out);
  QuantizeActivationRows(x, 0, m, out);
}

}  // namespace baton::engine::kernels
