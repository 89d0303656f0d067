// Hyperparameters of a decoder-only transformer of any architecture of arch_table.h, read from
// GGUF metadata. A plain value type; thread-safe to share once built.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "engine/gguf/gguf_file.h"
#include "engine/kv_cache/kv_layout.h"
#include "engine/model/arch_table.h"

namespace baton::engine {

// How rope angles are stretched beyond the trained context.
enum class RopeScaling : uint8_t {
  kNone = 0,
  kLinear = 1,  // positions times rope_freq_scale
  kYarn = 2,    // YaRN: interpolation blended with extrapolation per dimension, plus a magnitude
                // correction (llama.cpp's rope_yarn)
  kLlama3 = 3,  // Llama 3.1 per-frequency divisors (the rope_freqs tensor, or computed from keys)
};

struct ModelConfig {
  ModelArch arch = ModelArch::kLlama;
  int32_t n_embd = 0;
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;   // grouped-query attention: n_heads % n_kv_heads == 0
  int32_t head_dim = 0;     // key/value length per head
  int32_t n_ff = 0;
  int32_t vocab_size = 0;
  int32_t context_length = 0;
  float norm_eps = 1e-5f;
  // Rotary embedding: rope_dim leading dims of each head rotate with theta_i =
  // pos * freq_scale * base^(-2i / rope_dim) / freq_factor_i (freq factors from `rope_freqs`).
  float rope_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / rope.scaling.factor for linear and YaRN scaling
  int32_t rope_dim = 0;
  // false: "normal" rope rotating adjacent pairs (x[2i], x[2i+1]) as llama.cpp does for llama;
  // true: NEOX rope rotating (x[i], x[i + rope_dim/2]) as for qwen2/qwen3.
  bool rope_neox = false;
  RopeScaling rope_scaling = RopeScaling::kNone;
  float rope_scaling_factor = 1.0f;  // rope.scaling.factor (1 when absent)
  // rope.scaling.original_context_length (the trained context before extension; defaults to
  // context_length).
  int32_t rope_orig_context = 0;
  // Multiplies cos/sin (rope.scaling.attn_factor; 1 when absent).
  float rope_attn_factor = 1.0f;
  // YaRN ramp bounds in rotations over the original context (llama.cpp's defaults).
  float yarn_beta_fast = 32.0f;
  float yarn_beta_slow = 1.0f;
  // Llama 3.1 scaling keys, used when the file has no rope_freqs tensor.
  float llama3_low_freq_factor = 1.0f;
  float llama3_high_freq_factor = 4.0f;

  Activation activation = Activation::kSilu;
  float embedding_scale = 1.0f;      // the embedding row is multiplied by this
  float attn_softcap = 0.0f;         // 0: none; else scores become cap * tanh(score / cap)
  float final_softcap = 0.0f;        // same on the final logits
  float attention_scale = 0.0f;      // scores = q.k * attention_scale (see ArchSpec)
  int32_t sliding_window = 0;        // 0: none; else a window layer sees this many positions
  WindowLayers window_layers = WindowLayers::kNone;
  float window_rope_base = 0.0f;     // rope base of window layers, 0: rope_base

  // Whether layer `layer` attends through the sliding window.
  bool LayerUsesWindow(int32_t layer) const;

  // The GGUF shape of a per-layer tensor of `role`: `rows` rows of `cols` (a vector has rows
  // entries and cols == 0). Norm gains are the vectors that default to 1.
  struct TensorShape {
    int64_t cols = 0;
    int64_t rows = 0;
    bool is_norm = false;
  };
  TensorShape LayerTensorShape(TensorRole role) const;

  int32_t q_dim() const { return n_heads * head_dim; }
  int32_t kv_dim() const { return n_kv_heads * head_dim; }

  // The KV pool layout this model needs.
  KvLayout MakeKvLayout(KvDType dtype, int32_t block_size_tokens) const;
  std::string DebugString() const;
};

// Reads the config from `general.architecture` and the `<arch>.*` keys the architecture's table
// entry names. Missing required keys or inconsistent values -> kInvalidArgument (or the reader's
// kNotFound/kDataLoss, passed on with the key named); an architecture the table does not know or
// an unknown rope scaling type -> kUnimplemented naming it.
absl::StatusOr<ModelConfig> ReadModelConfig(const gguf::GgufFile& file);

}  // namespace baton::engine
