// Activations prepared once per MatMul for the integer kernels: x quantized to signed 8-bit
// blocks with one float scale per block, plus the per-block sums the kernels use to fold weight
// offsets (Q4_0's -8, Q6_K's -32, Q8_0's +128 bias) and minimums into integer dot products.
// Internal to engine/kernels/cpu. Built for each MatMul (disjoint row ranges may be filled
// concurrently, QuantizeActivationRows), then read-only.
#pragma once

#include <cstdint>
#include <vector>

namespace baton::engine::kernels {

struct Q8Activations {
  int64_t m = 0;
  int64_t k = 0;
  int block = 32;  // elements per scale: 32 for the *_0/_1 types, 256 for the K types
  int bias = 0;    // corr lanes hold -bias * (sum of each 4 consecutive quants)
  std::vector<int8_t> qs;     // m * k, x[i][j] ~ d[i][j / block] * qs[i * k + j]
  std::vector<float> d;       // m * (k / block); block 32: fp16-rounded (ggml's q8_0 scale)
  std::vector<int32_t> corr;  // m * (k / 4): the lane layout of a vpdpbusd over the same bytes
  std::vector<int32_t> sum32; // m * (k / 32): sums of each 32 consecutive quants
  std::vector<float> d8;      // block 32 only: m * (k / 32) * 8, each d repeated for 8 lanes
  std::vector<float> dsum32;  // block 32 only: m * (k / 32), d * sum32 of each block
  std::vector<int16_t> sum16; // block 256 only: m * (k / 16), sums of each 16 consecutive quants

  const int8_t* row_qs(int64_t i) const { return qs.data() + i * k; }
  const float* row_d(int64_t i) const { return d.data() + i * (k / block); }
  const int32_t* row_corr(int64_t i) const { return corr.data() + i * (k / 4); }
  const int32_t* row_sum32(int64_t i) const { return sum32.data() + i * (k / 32); }
  const float* row_d8(int64_t i) const { return d8.data() + i * (k / 32) * 8; }
  const float* row_dsum32(int64_t i) const { return dsum32.data() + i * (k / 32); }
  const int16_t* row_sum16(int64_t i) const { return sum16.data() + i * (k / 16); }
};

// Sets the shape fields and sizes every buffer of `out` for m rows of k (contents unspecified).
void ResizeActivations(int64_t m, int64_t k, int block, int bias, Q8Activations* out);

// Computes dsum32 of rows [i0, i1) from d and sum32 (block 32 only; nothing for block 256).
void FillDsum32(int64_t i0, int64_t i1, Q8Activations* out);

// Computes sum16 of rows [i0, i1) from qs (block 256 only; nothing for block 32).
void FillSum16(int64_t i0, int64_t i1, Q8Activations* out);

// Fills rows [i0, i1) of `out` (already sized by ResizeActivations) from the same rows of x,
// which holds out->m rows of out->k floats. Calls for disjoint row ranges may run concurrently.
void QuantizeActivationRows(const float* x, int64_t i0, int64_t i1, Q8Activations* out);

// Fills `out` from m rows of k floats. Precondition: k % block == 0, block % 32 == 0.
void QuantizeActivations(const float* x, int64_t m, int64_t k, int block, int bias,
                         Q8Activations* out);

}  // namespace baton::engine::kernels
