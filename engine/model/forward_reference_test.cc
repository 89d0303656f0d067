// ForwardPass (batched, paged KV, SIMD ops, engine kernels) against a plain single-token-at-a-time
// transformer written out below in doubles, for every architecture, on random F32 models.
#include <cmath>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "engine/gguf/gguf_file.h"
#include "engine/kv_cache/kv_pool.h"
#include "engine/model/forward.h"
#include "engine/model/model.h"
#include "engine/model/random_model.h"
#include "gtest/gtest.h"

namespace baton::engine {
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

Vec Norm(const Vec& x, const float* w, size_t n, double eps, size_t offset = 0) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[offset + i] * x[offset + i];
  const double scale = 1.0 / std::sqrt(ss / n + eps);
  Vec out(n);
  for (size_t i = 0; i < n; ++i) out[i] = x[offset + i] * scale * w[i];
  return out;
}

// Rotates head by head; pairs are (2i, 2i+1) for llama and (i, i + d/2) for NEOX.
void Rotate(Vec& v, int heads, int hd, int pos, double base, bool neox) {
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < hd / 2; ++i) {
      const double theta = pos * std::pow(base, -2.0 * i / hd);
      const int a = h * hd + (neox ? i : 2 * i);
      const int b = h * hd + (neox ? i + hd / 2 : 2 * i + 1);
      const double x0 = v[a], x1 = v[b];
      v[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
      v[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
    }
  }
}

std::vector<Vec> ReferenceLogits(const Model& m, const std::vector<int32_t>& tokens) {
  const ModelConfig& c = m.config();
  const int hd = c.head_dim;
  std::vector<std::vector<Vec>> keys(c.n_layers), values(c.n_layers);
  std::vector<Vec> logits;
  for (size_t pos = 0; pos < tokens.size(); ++pos) {
    const float* e = reinterpret_cast<const float*>(m.token_embd().data) + tokens[pos] * c.n_embd;
    Vec x(e, e + c.n_embd);
    for (int l = 0; l < c.n_layers; ++l) {
      const LayerWeights& w = m.layer(l);
      Vec xn = Norm(x, w.attn_norm.data(), c.n_embd, c.norm_eps);
      Vec q = MatVec(w.wq, xn), k = MatVec(w.wk, xn), v = MatVec(w.wv, xn);
      if (c.qkv_bias) {
        for (size_t i = 0; i < q.size(); ++i) q[i] += w.q_bias[i];
        for (size_t i = 0; i < k.size(); ++i) k[i] += w.k_bias[i], v[i] += w.v_bias[i];
      }
      if (c.qk_norm) {
        for (int h = 0; h < c.n_heads; ++h) {
          Vec n = Norm(q, w.q_norm.data(), hd, c.norm_eps, h * hd);
          std::copy(n.begin(), n.end(), q.begin() + h * hd);
        }
        for (int h = 0; h < c.n_kv_heads; ++h) {
          Vec n = Norm(k, w.k_norm.data(), hd, c.norm_eps, h * hd);
          std::copy(n.begin(), n.end(), k.begin() + h * hd);
        }
      }
      Rotate(q, c.n_heads, hd, pos, c.rope_base, c.rope_neox);
      Rotate(k, c.n_kv_heads, hd, pos, c.rope_base, c.rope_neox);
      keys[l].push_back(k);
      values[l].push_back(v);
      Vec attn(c.q_dim(), 0.0);
      for (int h = 0; h < c.n_heads; ++h) {
        const int g = h / (c.n_heads / c.n_kv_heads);
        Vec s(pos + 1);
        double mx = -1e300, z = 0;
        for (size_t t = 0; t <= pos; ++t) {
          double d = 0;
          for (int i = 0; i < hd; ++i) d += q[h * hd + i] * keys[l][t][g * hd + i];
          s[t] = d / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[t]);
        }
        for (double& p : s) z += (p = std::exp(p - mx));
        for (size_t t = 0; t <= pos; ++t) {
          for (int i = 0; i < hd; ++i) attn[h * hd + i] += s[t] / z * values[l][t][g * hd + i];
        }
      }
      Vec o = MatVec(w.wo, attn);
      for (int i = 0; i < c.n_embd; ++i) x[i] += o[i];
      xn = Norm(x, w.ffn_norm.data(), c.n_embd, c.norm_eps);
      Vec gate = MatVec(w.ffn_gate, xn), up = MatVec(w.ffn_up, xn);
      for (int i = 0; i < c.n_ff; ++i) gate[i] = gate[i] / (1 + std::exp(-gate[i])) * up[i];
      Vec down = MatVec(w.ffn_down, gate);
      for (int i = 0; i < c.n_embd; ++i) x[i] += down[i];
    }
    logits.push_back(MatVec(m.output(), Norm(x, m.output_norm().data(), c.n_embd, c.norm_eps)));
  }
  return logits;
}

TEST(ForwardReferenceTest, EveryArchMatchesPlainTransformer) {
  for (ModelArch arch : {ModelArch::kLlama, ModelArch::kQwen2, ModelArch::kQwen3}) {
    SCOPED_TRACE(ModelArchName(arch));
    RandomModelSpec spec;
    spec.arch = arch;
    spec.n_embd = 64;
    spec.n_heads = 4;
    spec.n_kv_heads = 2;
    spec.n_ff = 96;
    spec.vocab_size = 300;
    spec.weight_std = 0.2f;  // large enough that attention is far from uniform
    spec.tied_output = arch != ModelArch::kQwen2;
    ASSERT_OK_AND_ASSIGN(std::string bytes, BuildRandomModel(spec));
    ASSERT_OK_AND_ASSIGN(auto file, gguf::GgufFile::FromBuffer(bytes));
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Model> model, Model::FromGguf(std::move(file)));
    const std::vector<int32_t> tokens = {1, 17, 250, 3, 99, 42, 42, 7, 123, 5, 280};
    const std::vector<Vec> want = ReferenceLogits(*model, tokens);

    // Prefill 7 tokens, a 3-token chunk, then decode steps, over scattered 3-token blocks.
    ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(model->config().MakeKvLayout(KvDType::kF32, 3), 8));
    const std::vector<int32_t> table = {6, 1, 4, 0};
    ForwardPass forward(model, nullptr);
    StepLogits logits;
    SequenceStep prefill{table, {tokens.data(), 7}, 0, LogitsMode::kAll};
    ASSERT_OK(forward.Run(*pool, {&prefill, 1}, &logits));
    auto expect_row = [&](std::span<const float> got, size_t pos) {
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_NEAR(got[i], want[pos][i], 2e-4) << "pos " << pos << " token " << i;
      }
    };
    for (int i = 0; i < 7; ++i) expect_row(logits.Row(0, i), i);
    // A chunked-prefill step: 3 more tokens on top of the cached 7 (crosses a block boundary).
    SequenceStep chunk{table, {tokens.data() + 7, 3}, 7, LogitsMode::kAll};
    ASSERT_OK(forward.Run(*pool, {&chunk, 1}, &logits));
    for (int i = 0; i < 3; ++i) expect_row(logits.Row(0, i), 7 + i);
    for (size_t pos = 10; pos < tokens.size(); ++pos) {
      SequenceStep decode{table, {tokens.data() + pos, 1}, static_cast<int32_t>(pos),
                          LogitsMode::kLast};
      ASSERT_OK(forward.Run(*pool, {&decode, 1}, &logits));
      expect_row(logits.Row(0), pos);
    }
  }
}

}  // namespace
}  // namespace baton::engine
