#include "engine/model/model_config.h"

#include <cmath>
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

// `key` as a float in (lo, hi), or `fallback` when absent.
absl::StatusOr<float> ReadOptionalFloat(const gguf::GgufFile& file, const std::string& key,
                                        float fallback, double lo, double hi) {
  if (!file.Has(key)) return fallback;
  ASSIGN_OR_RETURN(double v, file.GetFloat(key));
  if (!(v > lo && v < hi)) return absl::InvalidArgumentError(key + " out of range");
  return static_cast<float>(v);
}

absl::Status ReadRopeScaling(const gguf::GgufFile& file, const std::string& p, ModelConfig& c) {
  ASSIGN_OR_RETURN(c.rope_orig_context,
                   ReadOptionalPositiveInt(file, p + "rope.scaling.original_context_length",
                                           c.context_length));
  ASSIGN_OR_RETURN(c.rope_attn_factor,
                   ReadOptionalFloat(file, p + "rope.scaling.attn_factor", 1.0f, 0.0, 100.0));
  ASSIGN_OR_RETURN(c.rope_scaling_factor,
                   ReadOptionalFloat(file, p + "rope.scaling.factor", 1.0f, 0.0, 1e6));
  if (c.rope_scaling_factor < 1.0f) {
    return absl::InvalidArgumentError(p + "rope.scaling.factor must be >= 1");
  }
  if (!file.Has(p + "rope.scaling.type")) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string type, file.GetString(p + "rope.scaling.type"));
  if (type == "linear") {
    c.rope_scaling = RopeScaling::kLinear;
    c.rope_freq_scale = 1.0f / c.rope_scaling_factor;
  } else if (type == "yarn") {
    c.rope_scaling = RopeScaling::kYarn;
    c.rope_freq_scale = 1.0f / c.rope_scaling_factor;
    ASSIGN_OR_RETURN(c.yarn_beta_fast,
                     ReadOptionalFloat(file, p + "rope.scaling.yarn_beta_fast", 32.0f, 0, 1e6));
    ASSIGN_OR_RETURN(c.yarn_beta_slow,
                     ReadOptionalFloat(file, p + "rope.scaling.yarn_beta_slow", 1.0f, 0, 1e6));
  } else if (type == "llama3") {
    c.rope_scaling = RopeScaling::kLlama3;
    ASSIGN_OR_RETURN(c.llama3_low_freq_factor,
                     ReadOptionalFloat(file, p + "rope.scaling.low_freq_factor", 1.0f, 0, 1e6));
    ASSIGN_OR_RETURN(c.llama3_high_freq_factor,
                     ReadOptionalFloat(file, p + "rope.scaling.high_freq_factor", 4.0f, 0, 1e6));
    if (c.llama3_high_freq_factor <= c.llama3_low_freq_factor) {
      return absl::InvalidArgumentError("rope.scaling.high_freq_factor must exceed low_freq_factor");
    }
  } else if (type != "none") {
    return absl::UnimplementedError("rope scaling '" + type + "' is not supported");
  }
  return absl::OkStatus();
}

}  // namespace

bool ModelConfig::LayerUsesWindow(int32_t layer) const {
  if (sliding_window <= 0) return false;
  switch (window_layers) {
    case WindowLayers::kNone:
      return false;
    case WindowLayers::kAllIfKey:
      return true;
    case WindowLayers::kEven:
      return layer % 2 == 0;
    case WindowLayers::kAllButSixth:
      return (layer + 1) % 6 != 0;
  }
  return false;
}

ModelConfig::TensorShape ModelConfig::LayerTensorShape(TensorRole role) const {
  using R = TensorRole;
  switch (role) {
    case R::kAttnNorm:
    case R::kPostAttnNorm:
    case R::kFfnNorm:
    case R::kPostFfnNorm:
      return {0, n_embd, true};
    case R::kAttnQNorm:
    case R::kAttnKNorm:
      return {0, head_dim, true};
    case R::kAttnQBias:
      return {0, q_dim()};
    case R::kAttnKBias:
    case R::kAttnVBias:
      return {0, kv_dim()};
    case R::kAttnQ:
      return {n_embd, q_dim()};
    case R::kAttnK:
    case R::kAttnV:
      return {n_embd, kv_dim()};
    case R::kAttnQkv:
      return {n_embd, q_dim() + 2 * kv_dim()};
    case R::kAttnOut:
      return {q_dim(), n_embd};
    case R::kFfnGate:
    case R::kFfnUp:
      return {n_embd, n_ff};
    case R::kFfnGateUp:
      return {n_embd, 2 * n_ff};
    case R::kFfnDown:
      return {n_ff, n_embd};
  }
  return {};
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
  const ArchSpec* spec = FindArch(arch);
  if (spec == nullptr) {
    return absl::UnimplementedError("unsupported architecture '" + arch + "'");
  }
  ModelConfig c;
  c.arch = spec->arch;
  c.rope_neox = spec->rope == RopeStyle::kNeox;
  c.activation = spec->activation;
  c.window_layers = spec->window_layers;
  c.window_rope_base = spec->window_rope_base;
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
  RETURN_IF_ERROR(ReadRopeScaling(file, p, c));
  const bool embd_scale = spec->embd_query_scale_layers == c.n_layers;
  c.attention_scale =
      1.0f / std::sqrt(static_cast<float>(embd_scale ? c.n_embd / c.n_heads : c.head_dim));
  if (spec->scale_embedding) c.embedding_scale = std::sqrt(static_cast<float>(c.n_embd));
  if (spec->soft_capping) {
    ASSIGN_OR_RETURN(c.attn_softcap, ReadOptionalFloat(file, p + "attn_logit_softcapping",
                                                       spec->default_attn_softcap, 0, 1e9));
    ASSIGN_OR_RETURN(c.final_softcap, ReadOptionalFloat(file, p + "final_logit_softcapping",
                                                        spec->default_final_softcap, 0, 1e9));
  }
  if (spec->window_layers != WindowLayers::kNone) {
    ASSIGN_OR_RETURN(c.sliding_window,
                     ReadOptionalPositiveInt(file, p + "attention.sliding_window",
                                             spec->default_sliding_window));
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
