#include "engine/model/testing/reference_forward.h"

#include <algorithm>
#include <cmath>

#include "engine/kv_cache/kv_pool.h"
#include "engine/model/forward.h"
#include "engine/tensor/fp16.h"
#include "gtest/gtest.h"

namespace baton::engine::testing {
namespace {

using Vec = std::vector<double>;

Vec MatVec(const WeightMatrix& w, const Vec& x) {
  const float* data = reinterpret_cast<const float*>(w.data);
  Vec y(w.rows, 0.0);
  for (int64_t r = 0; r < w.rows; ++r) {
    for (int64_t c = 0; c < w.cols; ++c) y[r] += data[r * w.cols + c] * x[c];
  }
  return y;
}

// RMSNorm of x[offset, offset + n) in place.
void Norm(Vec& x, const std::vector<float>& w, size_t n, double eps, size_t offset = 0) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[offset + i] * x[offset + i];
  const double scale = 1.0 / std::sqrt(ss / n + eps);
  for (size_t i = 0; i < n; ++i) x[offset + i] = x[offset + i] * scale * w[i];
}

double RoundF16(double v) { return Fp16ToFloat(FloatToFp16(static_cast<float>(v))); }

// GELU (tanh form) on the input and output rounded to f16, as ops.h defines it.
double Gelu(double x) {
  if (x <= -10) return 0;
  if (x >= 10) return x;
  const double v = RoundF16(x);
  return RoundF16(0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))));
}

// Rotates the first rope_dim dims of every head of v for layer `layer` at position `pos`.
void Rotate(const Model& m, int layer, Vec& v, int heads, int64_t pos) {
  const ModelConfig& c = m.config();
  const bool window_base = c.window_rope_base > 0 && c.LayerUsesWindow(layer);
  const double base = window_base ? c.window_rope_base : c.rope_base;
  const double freq_scale = window_base ? 1.0 : c.rope_freq_scale;
  const bool yarn = !window_base && c.rope_scaling == RopeScaling::kYarn;
  const std::vector<float>& factors = m.rope_freq_factors();
  const int d = c.rope_dim;
  double mscale = c.rope_attn_factor;
  double low = 0, high = 0;
  if (yarn) {
    mscale *= 1 + 0.1 * std::log(1 / freq_scale);
    auto dim = [&](double rotations) {
      return d * std::log(c.rope_orig_context / (rotations * 2 * M_PI)) / (2 * std::log(base));
    };
    low = std::max(0.0, std::floor(dim(c.yarn_beta_fast)));
    high = std::min(d - 1.0, std::ceil(dim(c.yarn_beta_slow)));
  }
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < d / 2; ++i) {
      double extrap = pos * std::pow(base, -2.0 * i / d);
      if (!window_base && !factors.empty()) extrap /= factors[i];
      double theta = extrap * freq_scale;
      if (yarn) {
        const double ramp = 1 - std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0);
        theta = theta * (1 - ramp) + extrap * ramp;
      }
      const int a = h * c.head_dim + (c.rope_neox ? i : 2 * i);
      const int b = h * c.head_dim + (c.rope_neox ? i + d / 2 : 2 * i + 1);
      const double x0 = v[a], x1 = v[b];
      v[a] = (x0 * std::cos(theta) - x1 * std::sin(theta)) * mscale;
      v[b] = (x0 * std::sin(theta) + x1 * std::cos(theta)) * mscale;
    }
  }
}

double SoftCap(double x, double cap) { return cap > 0 ? cap * std::tanh(x / cap) : x; }

}  // namespace

std::vector<std::vector<double>> ReferenceLogits(const Model& m,
                                                 const std::vector<int32_t>& tokens) {
  const ModelConfig& c = m.config();
  const int hd = c.head_dim;
  std::vector<std::vector<Vec>> keys(c.n_layers), values(c.n_layers);
  std::vector<Vec> logits;
  for (size_t pos = 0; pos < tokens.size(); ++pos) {
    const float* e = reinterpret_cast<const float*>(m.token_embd().data) + tokens[pos] * c.n_embd;
    Vec x(e, e + c.n_embd);
    for (double& v : x) v *= c.embedding_scale;
    for (int l = 0; l < c.n_layers; ++l) {
      const LayerWeights& w = m.layer(l);
      Vec xn = x;
      Norm(xn, w.attn_norm, c.n_embd, c.norm_eps);
      Vec q, k, v;
      if (w.wqkv.data != nullptr) {
        const Vec qkv = MatVec(w.wqkv, xn);
        q.assign(qkv.begin(), qkv.begin() + c.q_dim());
        k.assign(qkv.begin() + c.q_dim(), qkv.begin() + c.q_dim() + c.kv_dim());
        v.assign(qkv.begin() + c.q_dim() + c.kv_dim(), qkv.end());
      } else {
        q = MatVec(w.wq, xn), k = MatVec(w.wk, xn), v = MatVec(w.wv, xn);
      }
      for (size_t i = 0; i < w.q_bias.size(); ++i) q[i] += w.q_bias[i];
      for (size_t i = 0; i < w.k_bias.size(); ++i) k[i] += w.k_bias[i];
      for (size_t i = 0; i < w.v_bias.size(); ++i) v[i] += w.v_bias[i];
      if (!w.q_norm.empty()) {
        for (int h = 0; h < c.n_heads; ++h) Norm(q, w.q_norm, hd, c.norm_eps, h * hd);
        for (int h = 0; h < c.n_kv_heads; ++h) Norm(k, w.k_norm, hd, c.norm_eps, h * hd);
      }
      Rotate(m, l, q, c.n_heads, pos);
      Rotate(m, l, k, c.n_kv_heads, pos);
      keys[l].push_back(k);
      values[l].push_back(v);
      const size_t first =
          c.LayerUsesWindow(l) && pos + 1 > static_cast<size_t>(c.sliding_window)
              ? pos + 1 - c.sliding_window
              : 0;
      Vec attn(c.q_dim(), 0.0);
      for (int h = 0; h < c.n_heads; ++h) {
        const int g = h / (c.n_heads / c.n_kv_heads);
        Vec s(pos + 1, 0.0);
        double mx = -1e300, z = 0;
        for (size_t t = first; t <= pos; ++t) {
          double d = 0;
          for (int i = 0; i < hd; ++i) d += q[h * hd + i] * keys[l][t][g * hd + i];
          s[t] = SoftCap(d * c.attention_scale, c.attn_softcap);
          mx = std::max(mx, s[t]);
        }
        for (size_t t = first; t <= pos; ++t) z += (s[t] = std::exp(s[t] - mx));
        for (size_t t = first; t <= pos; ++t) {
          for (int i = 0; i < hd; ++i) attn[h * hd + i] += s[t] / z * values[l][t][g * hd + i];
        }
      }
      Vec o = MatVec(w.wo, attn);
      if (!w.post_attn_norm.empty()) Norm(o, w.post_attn_norm, c.n_embd, c.norm_eps);
      for (int i = 0; i < c.n_embd; ++i) x[i] += o[i];
      xn = x;
      Norm(xn, w.ffn_norm, c.n_embd, c.norm_eps);
      Vec gate, up;
      if (w.ffn_gate_up.data != nullptr) {
        const Vec gu = MatVec(w.ffn_gate_up, xn);
        gate.assign(gu.begin(), gu.begin() + c.n_ff);
        up.assign(gu.begin() + c.n_ff, gu.end());
      } else {
        gate = MatVec(w.ffn_gate, xn), up = MatVec(w.ffn_up, xn);
      }
      for (int i = 0; i < c.n_ff; ++i) {
        const double g = gate[i];
        gate[i] = (c.activation == Activation::kGeluTanh ? Gelu(g) : g / (1 + std::exp(-g))) * up[i];
      }
      Vec down = MatVec(w.ffn_down, gate);
      if (!w.post_ffn_norm.empty()) Norm(down, w.post_ffn_norm, c.n_embd, c.norm_eps);
      for (int i = 0; i < c.n_embd; ++i) x[i] += down[i];
    }
    Norm(x, m.output_norm(), c.n_embd, c.norm_eps);
    Vec out = MatVec(m.output(), x);
    for (double& v : out) v = SoftCap(v, c.final_softcap);
    logits.push_back(std::move(out));
  }
  return logits;
}

void ExpectForwardMatchesReference(std::shared_ptr<const Model> model, double tolerance) {
  const std::vector<int32_t> tokens = {1, 17, 250, 3, 99, 42, 42, 7, 123, 5, 280};
  const std::vector<Vec> want = ReferenceLogits(*model, tokens);
  auto pool = KvPool::Create(model->config().MakeKvLayout(KvDType::kF32, 3), 8);
  ASSERT_TRUE(pool.ok()) << pool.status();
  const std::vector<int32_t> table = {6, 1, 4, 0};
  ForwardPass forward(model, nullptr);
  StepLogits logits;
  double max_diff = 0;
  auto expect_row = [&](std::span<const float> got, size_t pos) {
    ASSERT_EQ(got.size(), want[pos].size());
    for (size_t i = 0; i < got.size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(got[i] - want[pos][i]));
      ASSERT_NEAR(got[i], want[pos][i], tolerance) << "pos " << pos << " token " << i;
    }
  };
  SequenceStep prefill{table, {tokens.data(), 7}, 0, LogitsMode::kAll};
  ASSERT_TRUE(forward.Run(**pool, {&prefill, 1}, &logits).ok());
  for (int i = 0; i < 7; ++i) expect_row(logits.Row(0, i), i);
  // A chunked-prefill step: 3 more tokens on top of the cached 7 (crosses a block boundary).
  SequenceStep chunk{table, {tokens.data() + 7, 3}, 7, LogitsMode::kAll};
  ASSERT_TRUE(forward.Run(**pool, {&chunk, 1}, &logits).ok());
  for (int i = 0; i < 3; ++i) expect_row(logits.Row(0, i), 7 + i);
  SequenceStep decode{table, {tokens.data() + 10, 1}, 10, LogitsMode::kLast};
  ASSERT_TRUE(forward.Run(**pool, {&decode, 1}, &logits).ok());
  expect_row(logits.Row(0), 10);
  std::cerr << model->config().DebugString() << ": logits within " << max_diff
            << " of the reference\n";
}

}  // namespace baton::engine::testing
