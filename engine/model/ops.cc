#include "engine/model/ops.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "engine/model/attention_avx512.h"
#include "engine/model/dot_sum.h"
#include "engine/tensor/fp16.h"

namespace baton::engine::ops {

namespace {

// e^x in each lane, within about 1 ulp of expf for x in [-87, 88] (inputs beyond are clamped:
// e^-87 ~ 1.6e-38, e^88 ~ 1.7e38). x = n ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, so r
// is exact to float precision); e^r by its Taylor series to r^7 (truncation below 6e-9
// relative), times 2^n built in the exponent bits.
inline __m256 Exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);  // ln2's first 10 bits
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);      // the rest of ln2
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i scale =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}

float Exp1(float x) {
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, Exp8(_mm256_set1_ps(x)));
  return lanes[0];
}

}  // namespace

float Dot(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  float sum = SumLikeDot(acc0, acc1);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void Axpy(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

void QueryScores(const float* q, const float* keys, int64_t n, int32_t hd, float scale,
                 float* scores) {
  if (hd != 64) {
    for (int64_t t = 0; t < n; ++t) scores[t] = Dot(q, keys + t * hd, hd) * scale;
    return;
  }
  __m256 qv[8];
  for (int i = 0; i < 8; ++i) qv[i] = _mm256_loadu_ps(q + 8 * i);
  // Dot's order: acc0 takes the even 8-element chunks, acc1 the odd ones, each from zero.
  for (int64_t t = 0; t < n; ++t) {
    const float* k = keys + t * 64;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (int i = 0; i < 8; i += 2) {
      acc0 = _mm256_fmadd_ps(qv[i], _mm256_loadu_ps(k + 8 * i), acc0);
      acc1 = _mm256_fmadd_ps(qv[i + 1], _mm256_loadu_ps(k + 8 * i + 8), acc1);
    }
    scores[t] = SumLikeDot(acc0, acc1) * scale;
  }
}

void WeightedSum(const float* weights, const float* values, int64_t n, int32_t hd, float* out) {
  int32_t d = 0;
  for (; d + 64 <= hd; d += 64) {
    __m256 o[8];
    for (int i = 0; i < 8; ++i) o[i] = _mm256_setzero_ps();
    for (int64_t t = 0; t < n; ++t) {
      const __m256 w = _mm256_set1_ps(weights[t]);
      const float* v = values + t * hd + d;
      for (int i = 0; i < 8; ++i) o[i] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + 8 * i), o[i]);
    }
    for (int i = 0; i < 8; ++i) _mm256_storeu_ps(out + d + 8 * i, o[i]);
  }
  if (d == hd) return;
  std::memset(out + d, 0, (hd - d) * sizeof(float));
  for (int64_t t = 0; t < n; ++t) Axpy(weights[t], values + t * hd + d, out + d, hd - d);
}

void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  // Squares in float summed in double, mean and scale in float: ggml's order, so that norms
  // agree with llama.cpp to the last bit.
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void YarnCorrectionRange(int32_t rope_dim, int32_t orig_context, float base, float beta_fast,
                         float beta_slow, float* low, float* high) {
  // The pair index whose wavelength fits `rotations` times into the original context.
  auto dim = [&](float rotations) {
    return static_cast<float>(rope_dim) *
           std::log(static_cast<float>(orig_context) / (rotations * 2.0f * static_cast<float>(M_PI))) /
           (2.0f * std::log(base));
  };
  *low = std::max(0.0f, std::floor(dim(beta_fast)));
  *high = std::min(static_cast<float>(rope_dim - 1), std::ceil(dim(beta_slow)));
}

void Rope(float* x, int32_t n_heads, int32_t head_dim, int64_t pos, const RopeParams& p) {
  const int32_t half = p.rope_dim / 2;
  // Angles are shared by all heads; compute them once per call. The angle advances by repeated
  // multiplication in float, the order ggml uses, so positions far into the context round alike.
  float cos_t[256];
  float sin_t[256];
  const float theta_scale = std::pow(p.base, -2.0f / static_cast<float>(p.rope_dim));
  float mscale = p.attn_factor;
  if (p.ext_factor != 0.0f) mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
  float theta_base = static_cast<float>(pos);
  for (int32_t i = 0; i < half && i < 256; ++i, theta_base *= theta_scale) {
    const float extrap = p.freq_factors != nullptr ? theta_base / p.freq_factors[i] : theta_base;
    float theta = p.freq_scale * extrap;
    if (p.ext_factor != 0.0f) {
      const float y = (static_cast<float>(i) - p.corr_low) / std::max(0.001f, p.corr_high - p.corr_low);
      const float ramp = (1.0f - std::min(1.0f, std::max(0.0f, y))) * p.ext_factor;
      theta = theta * (1.0f - ramp) + extrap * ramp;
    }
    cos_t[i] = std::cos(theta) * mscale;
    sin_t[i] = std::sin(theta) * mscale;
  }
  for (int32_t h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    for (int32_t i = 0; i < half; ++i) {
      const int32_t a = p.neox ? i : 2 * i;
      const int32_t b = p.neox ? i + half : 2 * i + 1;
      const float x0 = v[a];
      const float x1 = v[b];
      v[a] = x0 * cos_t[i] - x1 * sin_t[i];
      v[b] = x0 * sin_t[i] + x1 * cos_t[i];
    }
  }
}

void SiluMul(float* gate, const float* up, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, Exp8(_mm256_xor_ps(g, sign))));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + Exp1(-gate[i])) * up[i];
}

namespace {

float GeluTanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  constexpr float kCubic = 0.044715f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCubic * x * x)));
}

// GELU of every f16 value, rounded to f16: built once, 256 KiB.
const float* GeluF16Table() {
  static const float* table = [] {
    auto* t = new float[65536];
    for (uint32_t h = 0; h < 65536; ++h) {
      t[h] = Fp16ToFloat(FloatToFp16(GeluTanh(Fp16ToFloat(static_cast<uint16_t>(h)))));
    }
    return t;
  }();
  return table;
}

}  // namespace

float Gelu(float x) {
  if (x <= -10.0f) return 0.0f;
  if (x >= 10.0f) return x;
  return GeluF16Table()[FloatToFp16(x)];
}

void GeluMul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = Gelu(gate[i]) * up[i];
}

void SoftCap(float* x, int64_t n, float cap) {
  const float inv = 1.0f / cap;
  for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i] * inv) * cap;
}

void Softmax(float* x, int64_t n) {
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, x[i]);
  const __m256 max8 = _mm256_set1_ps(max);
  __m256 sum8 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), max8));
    _mm256_storeu_ps(x + i, e);
    sum8 = _mm256_add_ps(sum8, e);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum8);
  float sum = 0;
  for (float l : lanes) sum += l;
  for (; i < n; ++i) {
    x[i] = Exp1(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) x[j] *= inv;
}

void StoreKvRow(const float* src, int64_t n, KvDType dtype, void* dst) {
  if (dtype == KvDType::kF32) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  }
  auto* out = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) out[i] = FloatToFp16(src[i]);
}

void LoadKvRow(const void* src, int64_t n, KvDType dtype, float* dst) {
  if (dtype == KvDType::kF32) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  }
  const auto* in = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(dst + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  for (; i < n; ++i) dst[i] = Fp16ToFloat(in[i]);
}

void RoundToF16(const float* x, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) out[i] = Fp16ToFloat(FloatToFp16(x[i]));
}

const uint8_t* PagedKvView::Key(int32_t kv_head, int64_t pos) const {
  const int32_t bs = layout.block_size_tokens;
  const int32_t block = block_table[pos / bs];
  const size_t row = static_cast<size_t>(kv_head) * bs + pos % bs;
  return pool_base + layout.Offset(layer, block, pool_blocks) +
         row * layout.head_dim * KvDTypeBytes(layout.dtype);
}

const uint8_t* PagedKvView::Value(int32_t kv_head, int64_t pos) const {
  return Key(kv_head, pos) + layout.HalfSlabBytes();
}

namespace {
std::atomic<bool> avx512_attention{true};
}  // namespace

void AllowAvx512Attention(bool allowed) { avx512_attention.store(allowed); }

void AttendGroup(const PagedKvView& kv, int32_t kv_head, int32_t group, const float* q,
                 int64_t q_stride, int64_t n_rows, int64_t first_pos,
                 const AttentionParams& params, float* out, int64_t out_stride, float* scratch) {
  const int32_t hd = kv.layout.head_dim;
  if (kv.layout.dtype == KvDType::kF16 && hd == 64 && avx512_attention.load() &&
      CpuHasAvx512Attention()) {
    AttendGroupF16Avx512(kv, kv_head, group, q, q_stride, n_rows, first_pos, params, out,
                         out_stride, scratch);
    return;
  }
  const int32_t bs = kv.layout.block_size_tokens;
  const int64_t n_ctx = first_pos + n_rows;
  float* keys = scratch;
  float* values = keys + n_ctx * hd;
  float* scores = values + n_ctx * hd;
  // Gather this head's K and V once (a block holds bs consecutive rows per head), then reuse
  // them for every query head of the group and every query row.
  for (int64_t t = 0; t < n_ctx; t += bs) {
    const int64_t rows = std::min<int64_t>(bs, n_ctx - t);
    LoadKvRow(kv.Key(kv_head, t), rows * hd, kv.layout.dtype, keys + t * hd);
    LoadKvRow(kv.Value(kv_head, t), rows * hd, kv.layout.dtype, values + t * hd);
  }
  // With an f16 cache the query and the attention weights are rounded to f16 before they meet
  // K and V, as llama.cpp does (its f16 matmuls convert the f32 operand to f16); this keeps
  // greedy outputs identical to llama.cpp's with an f16 KV cache.
  const bool f16 = kv.layout.dtype == KvDType::kF16;
  float q_rounded[512];
  for (int64_t r = 0; r < n_rows; ++r) {
    const int64_t n_keys = first_pos + r + 1;
    // Keys before the window are skipped entirely.
    const int64_t first_key = params.FirstKey(n_keys);
    const int64_t n_seen = n_keys - first_key;
    for (int32_t g = 0; g < group; ++g) {
      const int32_t h = kv_head * group + g;
      const float* qh = q + r * q_stride + static_cast<int64_t>(h) * hd;
      if (f16 && hd <= 512) {
        RoundToF16(qh, hd, q_rounded);
        qh = q_rounded;
      }
      QueryScores(qh, keys + first_key * hd, n_seen, hd, params.scale, scores);
      if (params.softcap > 0.0f) SoftCap(scores, n_seen, params.softcap);
      Softmax(scores, n_seen);
      if (f16) RoundToF16(scores, n_seen, scores);
      WeightedSum(scores, values + first_key * hd, n_seen, hd,
                  out + r * out_stride + static_cast<int64_t>(h) * hd);
    }
  }
}

}  // namespace baton::engine::ops
