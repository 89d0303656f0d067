#include "engine/model/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "engine/model/cpu_backend.h"
#include "engine/model/ops.h"

namespace baton::engine {
ForwardPass::ForwardPass(std::shared_ptr<const Model> model, ThreadPool* threads)
    : ForwardPass(std::move(model), std::make_unique<CpuBackend>(threads)) {}

ForwardPass::ForwardPass(std::shared_ptr<const Model> model, std::unique_ptr<Backend> backend)
    : model_(std::move(model)), backend_(std::move(backend)) {}

absl::Status ForwardPass::Check(const KvPool& pool, std::span<const SequenceStep> batch) const {
  const ModelConfig& c = model_->config();
  const KvLayout& layout = pool.layout();
  if (layout.num_layers != c.n_layers || layout.num_kv_heads != c.n_kv_heads ||
      layout.head_dim != c.head_dim) {
    return absl::InvalidArgumentError("KV pool layout " + layout.DebugString() +
                                      " does not fit model " + c.DebugString());
  }
  // Blocks this step writes, to catch two sequences writing the same block (a scheduler bug
  // that would silently corrupt both). Blocks that are only read may be shared.
  absl::flat_hash_map<int32_t, size_t> writers;
  for (size_t e = 0; e < batch.size(); ++e) {
    const SequenceStep& s = batch[e];
    const std::string where = "batch entry " + std::to_string(e) + ": ";
    if (s.tokens.empty()) return absl::InvalidArgumentError(where + "no tokens");
    if (s.start_pos < 0) return absl::InvalidArgumentError(where + "negative start_pos");
    const int64_t end = static_cast<int64_t>(s.start_pos) + s.tokens.size();
    if (end > c.context_length) {
      return absl::InvalidArgumentError(where + "position " + std::to_string(end) +
                                        " beyond the context length " +
                                        std::to_string(c.context_length));
    }
    if (static_cast<int64_t>(s.block_table.size()) < layout.BlocksFor(end)) {
      return absl::InvalidArgumentError(where + "block table too short for " +
                                        std::to_string(end) + " positions");
    }
    for (int32_t b : s.block_table) {
      if (b < 0 || b >= pool.num_blocks()) {
        return absl::InvalidArgumentError(where + "block " + std::to_string(b) +
                                          " outside the pool");
      }
    }
    const int32_t bs = layout.block_size_tokens;
    for (int64_t i = s.start_pos / bs; i < layout.BlocksFor(end); ++i) {
      auto [it, inserted] = writers.emplace(s.block_table[i], e);
      if (!inserted && it->second != e) {
        return absl::InvalidArgumentError(where + "writes block " +
                                          std::to_string(s.block_table[i]) +
                                          ", which batch entry " + std::to_string(it->second) +
                                          " also writes");
      }
    }
    for (int32_t t : s.tokens) {
      if (t < 0 || t >= c.vocab_size) {
        return absl::InvalidArgumentError(where + "token " + std::to_string(t) +
                                          " outside the vocabulary");
      }
    }
  }
  return absl::OkStatus();
}

void ForwardPass::Linear(const WeightMatrix& w, const float* x, int64_t m, float* y) {
  backend_->MatMul(w, x, m, y);
}

absl::Status ForwardPass::Run(KvPool& pool, std::span<const SequenceStep> batch,
                              StepLogits* logits, const LayerDoneCallback& on_layer_done) {
  if (absl::Status s = Check(pool, batch); !s.ok()) return s;
  const ModelConfig& c = model_->config();
  rows_ = 0;
  for (const SequenceStep& s : batch) rows_ += s.tokens.size();
  x_.resize(rows_ * c.n_embd);
  xn_.resize(rows_ * c.n_embd);
  q_.resize(rows_ * c.q_dim());
  k_.resize(rows_ * c.kv_dim());
  v_.resize(rows_ * c.kv_dim());
  attn_.resize(rows_ * c.q_dim());
  gate_.resize(rows_ * 2 * c.n_ff);
  up_.resize(rows_ * c.n_ff);

  Embed(batch);
  for (int32_t l = 0; l < c.n_layers; ++l) Layer(pool, batch, l, on_layer_done);
  if (logits != nullptr) Logits(batch, logits);
  return absl::OkStatus();
}

void ForwardPass::Embed(std::span<const SequenceStep> batch) {
  const ModelConfig& c = model_->config();
  const int64_t n = c.n_embd;
  int64_t row = 0;
  for (const SequenceStep& s : batch) {
    for (int32_t t : s.tokens) {
      float* x = &x_[row++ * n];
      backend_->EmbeddingRow(model_->token_embd(), t, x);
      if (c.embedding_scale != 1.0f) {
        for (int64_t i = 0; i < n; ++i) x[i] *= c.embedding_scale;
      }
    }
  }
}

ops::RopeParams ForwardPass::LayerRope(int32_t layer) const {
  const ModelConfig& c = model_->config();
  ops::RopeParams p;
  p.rope_dim = c.rope_dim;
  p.neox = c.rope_neox;
  p.attn_factor = c.rope_attn_factor;
  if (c.window_rope_base > 0.0f && c.LayerUsesWindow(layer)) {
    // Local layers of such models (Gemma 3) rotate with their own base and no scaling.
    p.base = c.window_rope_base;
    return p;
  }
  p.base = c.rope_base;
  p.freq_scale = c.rope_freq_scale;
  const std::vector<float>& factors = model_->rope_freq_factors();
  p.freq_factors = factors.empty() ? nullptr : factors.data();
  if (c.rope_scaling == RopeScaling::kYarn) {
    p.ext_factor = 1.0f;
    ops::YarnCorrectionRange(c.rope_dim, c.rope_orig_context, c.rope_base, c.yarn_beta_fast,
                             c.yarn_beta_slow, &p.corr_low, &p.corr_high);
  }
  return p;
}

void ForwardPass::Normalize(const std::vector<float>& weight, const float* in, int64_t width,
                            float* out) {
  const float eps = model_->config().norm_eps;
  for (int64_t r = 0; r < rows_; ++r) {
    ops::RmsNorm(in + r * width, weight.data(), width, eps, out + r * width);
  }
}

void ForwardPass::Project(const LayerWeights& w) {
  const ModelConfig& c = model_->config();
  if (w.wqkv.data == nullptr) {
    const WeightMatrix* ws[] = {&w.wq, &w.wk, &w.wv};
    float* ys[] = {q_.data(), k_.data(), v_.data()};
    backend_->MatMuls(ws, xn_.data(), rows_, ys);
    return;
  }
  // Fused [q; k; v]: one product, then split each row.
  const int64_t width = c.q_dim() + 2 * c.kv_dim();
  qkv_.resize(rows_ * width);
  Linear(w.wqkv, xn_.data(), rows_, qkv_.data());
  for (int64_t r = 0; r < rows_; ++r) {
    const float* src = &qkv_[r * width];
    std::memcpy(&q_[r * c.q_dim()], src, c.q_dim() * sizeof(float));
    std::memcpy(&k_[r * c.kv_dim()], src + c.q_dim(), c.kv_dim() * sizeof(float));
    std::memcpy(&v_[r * c.kv_dim()], src + c.q_dim() + c.kv_dim(), c.kv_dim() * sizeof(float));
  }
}

void ForwardPass::Layer(KvPool& pool, std::span<const SequenceStep> batch, int32_t layer,
                        const LayerDoneCallback& on_layer_done) {
  const ModelConfig& c = model_->config();
  const LayerWeights& w = model_->layer(layer);
  const int64_t n = c.n_embd;

  Normalize(w.attn_norm, x_.data(), n, xn_.data());
  Project(w);

  const ops::RopeParams rope = LayerRope(layer);
  const KvLayout& layout = pool.layout();
  const int32_t bs = layout.block_size_tokens;
  int64_t row = 0;
  for (const SequenceStep& s : batch) {
    for (size_t i = 0; i < s.tokens.size(); ++i, ++row) {
      float* q = &q_[row * c.q_dim()];
      float* k = &k_[row * c.kv_dim()];
      float* v = &v_[row * c.kv_dim()];
      if (!w.q_bias.empty()) {
        for (int32_t j = 0; j < c.q_dim(); ++j) q[j] += w.q_bias[j];
      }
      if (!w.k_bias.empty()) {
        for (int32_t j = 0; j < c.kv_dim(); ++j) k[j] += w.k_bias[j];
      }
      if (!w.v_bias.empty()) {
        for (int32_t j = 0; j < c.kv_dim(); ++j) v[j] += w.v_bias[j];
      }
      if (!w.q_norm.empty()) {
        for (int32_t h = 0; h < c.n_heads; ++h) {
          ops::RmsNorm(q + h * c.head_dim, w.q_norm.data(), c.head_dim, c.norm_eps,
                       q + h * c.head_dim);
        }
      }
      if (!w.k_norm.empty()) {
        for (int32_t h = 0; h < c.n_kv_heads; ++h) {
          ops::RmsNorm(k + h * c.head_dim, w.k_norm.data(), c.head_dim, c.norm_eps,
                       k + h * c.head_dim);
        }
      }
      const int64_t pos = s.start_pos + static_cast<int64_t>(i);
      ops::Rope(q, c.n_heads, c.head_dim, pos, rope);
      ops::Rope(k, c.n_kv_heads, c.head_dim, pos, rope);
      // Store K and V rows: slab = K[kv_head][token][head_dim] then V[...].
      const int32_t block = s.block_table[pos / bs];
      const int32_t slot = static_cast<int32_t>(pos % bs);
      uint8_t* key_base = pool.KeyData(layer, block);
      uint8_t* value_base = pool.ValueData(layer, block);
      const size_t head_bytes = static_cast<size_t>(c.head_dim) * KvDTypeBytes(layout.dtype);
      for (int32_t h = 0; h < c.n_kv_heads; ++h) {
        const size_t offset = (static_cast<size_t>(h) * bs + slot) * head_bytes;
        ops::StoreKvRow(k + h * c.head_dim, c.head_dim, layout.dtype, key_base + offset);
        ops::StoreKvRow(v + h * c.head_dim, c.head_dim, layout.dtype, value_base + offset);
      }
    }
  }
  if (on_layer_done) on_layer_done(layer);

  Attention(pool, batch, layer);
  Linear(w.wo, attn_.data(), rows_, xn_.data());
  if (!w.post_attn_norm.empty()) Normalize(w.post_attn_norm, xn_.data(), n, xn_.data());
  for (int64_t i = 0; i < rows_ * n; ++i) x_[i] += xn_[i];

  Normalize(w.ffn_norm, x_.data(), n, xn_.data());
  FeedForward(w);
  if (!w.post_ffn_norm.empty()) Normalize(w.post_ffn_norm, xn_.data(), n, xn_.data());
  for (int64_t i = 0; i < rows_ * n; ++i) x_[i] += xn_[i];
}

void ForwardPass::FeedForward(const LayerWeights& w) {
  const ModelConfig& c = model_->config();
  const int64_t ff = c.n_ff;
  // Separate: gate_ and up_ rows of ff, act(gate) * up lands in gate_. Fused: gate_ rows of
  // [gate; up] (2 * ff), the gate half is copied to up_ and act(gate) * up lands there.
  const bool fused = w.ffn_gate_up.data != nullptr;
  if (fused) {
    Linear(w.ffn_gate_up, xn_.data(), rows_, gate_.data());
  } else {
    const WeightMatrix* ws[] = {&w.ffn_gate, &w.ffn_up};
    float* ys[] = {gate_.data(), up_.data()};
    backend_->MatMuls(ws, xn_.data(), rows_, ys);
  }
  float* out = fused ? up_.data() : gate_.data();
  backend_->ParallelFor(rows_, rows_ * ff, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* g = out + r * ff;
      const float* u = &up_[r * ff];
      if (fused) {
        std::memcpy(g, &gate_[r * 2 * ff], ff * sizeof(float));
        u = &gate_[r * 2 * ff + ff];
      }
      if (c.activation == Activation::kGeluTanh) {
        ops::GeluMul(g, u, ff);
      } else {
        ops::SiluMul(g, u, ff);
      }
    }
  });
  Linear(w.ffn_down, out, rows_, xn_.data());
}

void ForwardPass::Attention(KvPool& pool, std::span<const SequenceStep> batch, int32_t layer) {
  const ModelConfig& c = model_->config();
  const int32_t group = c.n_heads / c.n_kv_heads;
  const ops::AttentionParams params{
      .scale = c.attention_scale,
      .softcap = c.attn_softcap,
      .window = c.LayerUsesWindow(layer) ? c.sliding_window : 0};
  // One task per (sequence, kv head): it gathers that head's K/V once for its whole group.
  std::vector<int64_t> first_row(batch.size());
  int64_t row = 0;
  for (size_t e = 0; e < batch.size(); ++e) {
    first_row[e] = row;
    row += batch[e].tokens.size();
  }
  const int64_t tasks = static_cast<int64_t>(batch.size()) * c.n_kv_heads;
  // Rough work estimate (query rows x context x head dims) so tiny steps stay inline.
  int64_t work = 0;
  for (const SequenceStep& s : batch) {
    work += static_cast<int64_t>(s.tokens.size()) * (s.start_pos + s.tokens.size());
  }
  work *= c.n_heads * c.head_dim;
  backend_->ParallelFor(tasks, work, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> scratch;
    for (int64_t task = begin; task < end; ++task) {
      const size_t e = task / c.n_kv_heads;
      const int32_t kv_head = static_cast<int32_t>(task % c.n_kv_heads);
      const SequenceStep& s = batch[e];
      const int64_t n_rows = s.tokens.size();
      const int64_t n_ctx = s.start_pos + n_rows;
      scratch.resize(n_ctx * (2 * c.head_dim + 1));
      ops::PagedKvView view{static_cast<const uint8_t*>(pool.base()), pool.layout(),
                            pool.num_blocks(), s.block_table, layer};
      ops::AttendGroup(view, kv_head, group, &q_[first_row[e] * c.q_dim()], c.q_dim(), n_rows,
                       s.start_pos, params, &attn_[first_row[e] * c.q_dim()], c.q_dim(),
                       scratch.data());
    }
  });
}

void ForwardPass::Logits(std::span<const SequenceStep> batch, StepLogits* logits) {
  const ModelConfig& c = model_->config();
  const int64_t n = c.n_embd;
  logits->vocab_size = c.vocab_size;
  logits->first_row.assign(batch.size(), 0);
  logits->num_rows.assign(batch.size(), 0);
  // Gather the rows that want logits into xn_ (normalised), then one MatMul for all of them.
  int64_t out_rows = 0;
  int64_t row = 0;
  for (size_t e = 0; e < batch.size(); ++e) {
    const SequenceStep& s = batch[e];
    const int64_t len = s.tokens.size();
    int64_t from = len;
    if (s.logits == LogitsMode::kLast) from = len - 1;
    if (s.logits == LogitsMode::kAll) from = 0;
    logits->first_row[e] = static_cast<int32_t>(out_rows);
    logits->num_rows[e] = static_cast<int32_t>(len - from);
    for (int64_t i = from; i < len; ++i) {
      ops::RmsNorm(&x_[(row + i) * n], model_->output_norm().data(), n, c.norm_eps,
                   &xn_[out_rows++ * n]);
    }
    row += len;
  }
  logits->data.resize(out_rows * c.vocab_size);
  if (out_rows > 0) Linear(model_->output(), xn_.data(), out_rows, logits->data.data());
  if (c.final_softcap > 0.0f) ops::SoftCap(logits->data.data(), logits->data.size(), c.final_softcap);
}

}  // namespace baton::engine
