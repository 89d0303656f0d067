// Hyperparameters of a decoder-only transformer (llama, mistral-as-llama, qwen2, qwen3), read
// from GGUF metadata. A plain value type; thread-safe to share once built.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "engine/gguf/gguf_file.h"
#include "engine/kv_cache/kv_layout.h"

namespace baton::engine {

enum class ModelArch : uint8_t {
  kLlama = 0,  // also Mistral (same GGUF arch name and graph)
  kQwen2 = 1,  // adds biases on Q, K and V
  kQwen3 = 2,  // adds an RMSNorm over each Q and K head
};

const char* ModelArchName(ModelArch arch);

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
  float rope_freq_scale = 1.0f;  // 1 / llama.rope.scaling.factor for linear scaling
  int32_t rope_dim = 0;
  // false: "normal" rope rotating adjacent pairs (x[2i], x[2i+1]) as llama.cpp does for llama;
  // true: NEOX rope rotating (x[i], x[i + rope_dim/2]) as for qwen2/qwen3.
  bool rope_neox = false;
  bool qkv_bias = false;
  bool qk_norm = false;

  int32_t q_dim() const { return n_heads * head_dim; }
  int32_t kv_dim() const { return n_kv_heads * head_dim; }

  // The KV pool layout this model needs.
  KvLayout MakeKvLayout(KvDType dtype, int32_t block_size_tokens) const;
  std::string DebugString() const;
};

// Reads the config from `general.architecture` and the `<arch>.*` keys. Missing required keys
// or inconsistent values -> kInvalidArgument (or the reader's kNotFound/kDataLoss, passed on
// with the key named); unknown architectures or rope scaling types -> kUnimplemented.
absl::StatusOr<ModelConfig> ReadModelConfig(const gguf::GgufFile& file);

}  // namespace baton::engine
