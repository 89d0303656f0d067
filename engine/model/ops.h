// The small per-token kernels of the transformer forward pass that are not matrix products:
// RMSNorm, rotary embedding, SiLU gating, softmax, KV row stores and attention over a paged KV
// pool with grouped-query heads. Plain functions over caller-owned buffers: thread-safe as long
// as concurrent calls write disjoint memory.
#pragma once

#include <cstdint>
#include <span>

#include "engine/kv_cache/kv_layout.h"

namespace baton::engine::ops {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i], for one row of n. `out` may alias `x`.
void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* out);

// How one layer rotates its heads. Pair i (i < rope_dim / 2) turns by
//   theta_i = pos * base^(-2i / rope_dim) / freq_factors[i],
// interpolated as theta_i * freq_scale; with YaRN (ext_factor > 0) the interpolated and the
// original angle are blended per pair by a ramp over [corr_low, corr_high] and cos/sin are
// scaled by attn_factor * (1 + 0.1 ln(1 / freq_scale)); without YaRN by attn_factor alone.
struct RopeParams {
  int32_t rope_dim = 0;
  float base = 10000.0f;
  float freq_scale = 1.0f;
  const float* freq_factors = nullptr;  // rope_dim / 2 divisors, or null
  bool neox = false;  // false: pairs (x[2i], x[2i+1]); true: (x[i], x[i + rope_dim/2])
  float ext_factor = 0.0f;
  float attn_factor = 1.0f;
  float corr_low = 0.0f;
  float corr_high = 0.0f;
};

// YaRN's correction range for a model trained on orig_context positions: the pairs that turn
// more than beta_fast times over it keep their angle, those under beta_slow are interpolated.
void YarnCorrectionRange(int32_t rope_dim, int32_t orig_context, float base, float beta_fast,
                         float beta_slow, float* low, float* high);

// Rotates the first rope_dim dims of each of `n_heads` heads (each `head_dim` long, packed) in
// place for position `pos`.
void Rope(float* x, int32_t n_heads, int32_t head_dim, int64_t pos, const RopeParams& p);

// gate[i] = silu(gate[i]) * up[i], with e^x from a vector polynomial (a few ulps from expf).
void SiluMul(float* gate, const float* up, int64_t n);
// GELU in its tanh form, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), evaluated as
// llama.cpp's CPU backend does so that outputs agree with it bit for bit: on x rounded to f16,
// with the result rounded to f16 (0 for x <= -10, x for x >= 10).
float Gelu(float x);
// gate[i] = Gelu(gate[i]) * up[i].
void GeluMul(float* gate, const float* up, int64_t n);

// x[i] = cap * tanh(x[i] / cap).
void SoftCap(float* x, int64_t n, float cap);

// In-place softmax over n values (e^x as in SiluMul).
void Softmax(float* x, int64_t n);

float Dot(const float* a, const float* b, int64_t n);
// y += a * x.
void Axpy(float a, const float* x, float* y, int64_t n);

// scores[t] = Dot(q, keys + t * hd, hd) * scale for t < n, bit for bit; faster than n Dot
// calls (the query stays in registers when hd is 64).
void QueryScores(const float* q, const float* keys, int64_t n, int32_t hd, float scale,
                 float* scores);

// out[0, hd) = 0 followed by Axpy(weights[t], values + t * hd, out, hd) for t < n, bit for bit;
// the output stays in registers 64 elements at a time instead of a store and load per t.
void WeightedSum(const float* weights, const float* values, int64_t n, int32_t hd, float* out);

// Stores one row of `n` floats as the KV dtype (f32 copy or f16 round-to-nearest-even).
void StoreKvRow(const float* src, int64_t n, KvDType dtype, void* dst);
// Loads `n` KV values into floats.
void LoadKvRow(const void* src, int64_t n, KvDType dtype, float* dst);

// out[i] = x[i] rounded to the nearest f16 value. `out` may alias `x`.
void RoundToF16(const float* x, int64_t n, float* out);

// Where one sequence's K/V live in a pool: the pool base, its layout and block count, the
// sequence's block table and the layer.
struct PagedKvView {
  const uint8_t* pool_base = nullptr;
  KvLayout layout;
  int32_t pool_blocks = 0;
  std::span<const int32_t> block_table;
  int32_t layer = 0;

  // Pointer to K (or V) of `kv_head` at token position `pos`.
  const uint8_t* Key(int32_t kv_head, int64_t pos) const;
  const uint8_t* Value(int32_t kv_head, int64_t pos) const;
};

// How scores are formed: score = q.k * scale, then cap * tanh(score / cap) when softcap > 0.
// window > 0 limits a query at position p to keys at positions (p - window, p].
struct AttentionParams {
  float scale = 1.0f;
  float softcap = 0.0f;
  int32_t window = 0;

  // The first key position a query sees when it sees the n_keys positions [0, n_keys) without
  // a window: with one, only the last `window` of them.
  int64_t FirstKey(int64_t n_keys) const {
    return window > 0 && n_keys > window ? n_keys - window : 0;
  }
};

// Causal attention for the query heads of one KV head group and a run of consecutive query
// positions of one sequence. q rows: q[r * q_stride + h * head_dim], r in [0, n_rows), heads
// h in [kv_head * group, (kv_head + 1) * group); row r sits at position first_pos + r and attends
// to positions [0, first_pos + r] (the last `window` of them with a window). Output goes to
// out[r * out_stride + h * head_dim].
// `scratch` must hold 2 * (first_pos + n_rows) * head_dim + (first_pos + n_rows) floats.
// With an f16 cache and 64-wide heads on an AVX-512 CPU it runs attention_avx512.h's path,
// bit-identical to the portable one.
void AttendGroup(const PagedKvView& kv, int32_t kv_head, int32_t group, const float* q,
                 int64_t q_stride, int64_t n_rows, int64_t first_pos,
                 const AttentionParams& params, float* out, int64_t out_stride, float* scratch);

// Lets AttendGroup take its AVX-512 path where it can (the default); false keeps it on the
// portable one, so tests can compare the two. Safe at any time: a call already running keeps the
// path it took, and both give the same results.
void AllowAvx512Attention(bool allowed);

}  // namespace baton::engine::ops
