#include "engine/model/model_config.h"

#include <string>

#include "common/status_macros.h"

namespace baton::engine {
namespace {

absl::StatusOr<int32_t> ReadPositiveInt(const gguf::GgufFile& file, const std::string& key) {
  ASSIGN_OR_RETURN(int64_t v, file.GetInt(key));
  if (v <= 0 || v > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError(key + " out of range: " + std::to_string(v));
  }
  return static_cast<int32_t>(v);
}

absl::StatusOr<int32_t> ReadOptionalPositiveInt(const gguf::GgufFile& file,
                                                const std::string& key, int32_t fallback) {
  if (!file.Has(key)) return fallback;
  return ReadPositiveInt(file, key);
}

}  // namespace

const char* ModelArchName(ModelArch arch) {
  switch (arch) {
    case ModelArch::kLlama:
      return "llama";
    case ModelArch::kQwen2:
      return "qwen2";
    case ModelArch::kQwen3:
      return "qwen3";
  }
  return "?";
}

KvLayout ModelConfig::MakeKvLayout(KvDType dtype, int32_t block_size_tokens) const {
  KvLayout layout;
  layout.num_layers = n_layers;
  layout.num_kv_heads = n_kv_heads;
  layout.head_dim = head_dim;
  layout.block_size_tokens = block_size_tokens;
  layout.dtype = dtype;
  return layout;
}

std::string ModelConfig::DebugString() const {
  return std::string(ModelArchName(arch)) + " embd=" + std::to_string(n_embd) +
         " layers=" + std::to_string(n_layers) + " heads=" + std::to_string(n_heads) + "/" +
         std::to_string(n_kv_heads) + " head_dim=" + std::to_string(head_dim) +
         " ff=" + std::to_string(n_ff) + " vocab=" + std::to_string(vocab_size) +
         " ctx=" + std::to_string(context_length) + " rope_base=" + std::to_string(rope_base);
}

absl::StatusOr<ModelConfig> ReadModelConfig(const gguf::GgufFile& file) {
  ASSIGN_OR_RETURN(std::string arch, file.GetString("general.architecture"));
  ModelConfig c;
  if (arch == "llama") {
    c.arch = ModelArch::kLlama;
  } else if (arch == "qwen2") {
    c.arch = ModelArch::kQwen2;
    c.qkv_bias = true;
    c.rope_neox = true;
  } else if (arch == "qwen3") {
    c.arch = ModelArch::kQwen3;
    c.qk_norm = true;
    c.rope_neox = true;
  } else {
    return absl::UnimplementedError("unsupported architecture '" + arch + "'");
  }
  const std::string p = arch + ".";
  ASSIGN_OR_RETURN(c.n_embd, ReadPositiveInt(file, p + "embedding_length"));
  ASSIGN_OR_RETURN(c.n_layers, ReadPositiveInt(file, p + "block_count"));
  ASSIGN_OR_RETURN(c.n_heads, ReadPositiveInt(file, p + "attention.head_count"));
  ASSIGN_OR_RETURN(c.n_kv_heads,
                   ReadOptionalPositiveInt(file, p + "attention.head_count_kv", c.n_heads));
  ASSIGN_OR_RETURN(c.n_ff, ReadPositiveInt(file, p + "feed_forward_length"));
  ASSIGN_OR_RETURN(c.context_length,
                   ReadOptionalPositiveInt(file, p + "context_length", 2048));
  if (c.n_embd % c.n_heads != 0 && !file.Has(p + "attention.key_length")) {
    return absl::InvalidArgumentError("embedding_length not divisible by head_count");
  }
  ASSIGN_OR_RETURN(c.head_dim, ReadOptionalPositiveInt(file, p + "attention.key_length",
                                                       c.n_embd / c.n_heads));
  ASSIGN_OR_RETURN(int32_t value_length,
                   ReadOptionalPositiveInt(file, p + "attention.value_length", c.head_dim));
  if (value_length != c.head_dim) {
    return absl::UnimplementedError("attention.value_length != key_length");
  }
  if (c.head_dim > 512) return absl::UnimplementedError("head dim above 512");
  if (c.n_heads % c.n_kv_heads != 0) {
    return absl::InvalidArgumentError("head_count not a multiple of head_count_kv");
  }
  ASSIGN_OR_RETURN(c.rope_dim, ReadOptionalPositiveInt(file, p + "rope.dimension_count",
                                                       c.head_dim));
  if (c.rope_dim > c.head_dim || c.rope_dim % 2 != 0) {
    return absl::InvalidArgumentError("rope.dimension_count must be even and <= head dim");
  }
  if (file.Has(p + "rope.freq_base")) {
    ASSIGN_OR_RETURN(double base, file.GetFloat(p + "rope.freq_base"));
    if (!(base > 1.0)) return absl::InvalidArgumentError("rope.freq_base must be > 1");
    c.rope_base = static_cast<float>(base);
  }
  const std::string eps_key = p + "attention.layer_norm_rms_epsilon";
  if (file.Has(eps_key)) {
    ASSIGN_OR_RETURN(double eps, file.GetFloat(eps_key));
    if (!(eps > 0.0 && eps < 1.0)) return absl::InvalidArgumentError(eps_key + " out of range");
    c.norm_eps = static_cast<float>(eps);
  }
  if (file.Has(p + "rope.scaling.type")) {
    ASSIGN_OR_RETURN(std::string type, file.GetString(p + "rope.scaling.type"));
    if (type == "linear") {
      ASSIGN_OR_RETURN(double factor, file.GetFloat(p + "rope.scaling.factor"));
      if (!(factor >= 1.0)) return absl::InvalidArgumentError("rope.scaling.factor must be >= 1");
      c.rope_freq_scale = static_cast<float>(1.0 / factor);
    } else if (type != "none" && type != "llama3") {
      // llama3 scaling arrives as the `rope_freqs` tensor, which the weights loader reads.
      return absl::UnimplementedError("rope scaling '" + type + "' is not supported");
    }
  }
  // The vocabulary size comes from the embedding matrix, which must exist anyway.
  const gguf::TensorInfo* embd = file.FindTensor("token_embd.weight");
  if (embd == nullptr || embd->dims.size() != 2) {
    return absl::InvalidArgumentError("token_embd.weight missing or not 2-D");
  }
  if (embd->dims[0] != c.n_embd || embd->dims[1] > (int64_t{1} << 24)) {
    return absl::InvalidArgumentError("token_embd.weight shape does not match embedding_length");
  }
  c.vocab_size = static_cast<int32_t>(embd->dims[1]);
  return c;
}

}  // namespace baton::engine
