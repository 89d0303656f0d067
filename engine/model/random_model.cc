#include "engine/model/random_model.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/kernels/cpu/quantize.h"

namespace baton::engine {
namespace {

// Seeded normal generator (xorshift64* + Box-Muller): same seed, same model on every platform.
class Normal {
 public:
  explicit Normal(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 0x1234567ull) {}
  float Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(Bits() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    const double u2 = static_cast<double>(Bits() >> 11) * (1.0 / 9007199254740992.0);
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = static_cast<float>(r * std::sin(2 * M_PI * u2));
    has_spare_ = true;
    return static_cast<float>(r * std::cos(2 * M_PI * u2));
  }

 private:
  uint64_t Bits() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  uint64_t state_;
  float spare_ = 0;
  bool has_spare_ = false;
};

std::string ArchName(ModelArch arch) { return ModelArchName(arch); }

void AddVocabulary(int32_t vocab_size, int32_t eot_token_id, gguf::GgufWriter& w) {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  const char* specials[] = {"<unk>", "<s>", "</s>"};
  for (int32_t i = 0; i < vocab_size; ++i) {
    if (i < 3) {
      tokens.push_back(specials[i]);
      types.push_back(i == 0 ? 2 : 3);
    } else if (i < 3 + 256) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "<0x%02X>", i - 3);
      tokens.push_back(buf);
      types.push_back(6);
    } else {
      tokens.push_back("\xe2\x96\x81tok" + std::to_string(i));  // "▁tokN"
      types.push_back(1);
    }
    scores.push_back(-static_cast<float>(i));
  }
  w.SetString("tokenizer.ggml.model", "llama");
  w.SetStringArray("tokenizer.ggml.tokens", tokens);
  w.SetFloat32Array("tokenizer.ggml.scores", scores);
  w.SetInt32Array("tokenizer.ggml.token_type", types);
  w.SetUint32("tokenizer.ggml.bos_token_id", 1);
  w.SetUint32("tokenizer.ggml.eos_token_id", 2);
  w.SetUint32("tokenizer.ggml.unknown_token_id", 0);
  w.SetBool("tokenizer.ggml.add_bos_token", true);
  if (eot_token_id >= 0) w.SetUint32("tokenizer.ggml.eot_token_id", eot_token_id);
}

class Builder {
 public:
  Builder(const RandomModelSpec& spec, gguf::GgufWriter& w)
      : spec_(spec), w_(w), normal_(spec.seed) {}

  absl::Status Matrix(const std::string& name, int64_t cols, int64_t rows) {
    const TensorType t = TypeOf(name);
    if (cols % BlockElements(t) != 0) {
      return absl::InvalidArgumentError(name + ": row length " + std::to_string(cols) +
                                        " is not a multiple of the " +
                                        std::string(TensorTypeName(t)) + " block size");
    }
    std::vector<float> row(cols);
    std::string quantized(RowBytes(t, cols), '\0');
    std::string data;
    const TensorType out_type = spec_.dequantize_to_f32 ? TensorType::kF32 : t;
    data.reserve(RowBytes(out_type, cols) * rows);
    for (int64_t r = 0; r < rows; ++r) {
      for (float& v : row) v = normal_.Next() * spec_.weight_std;
      kernels::QuantizeRow(t, row.data(), quantized.data(), cols);
      if (spec_.dequantize_to_f32) {
        kernels::DequantizeRow(t, quantized.data(), row.data(), cols);
        data.append(reinterpret_cast<const char*>(row.data()), cols * sizeof(float));
      } else {
        data.append(quantized);
      }
    }
    return w_.AddTensor(name, out_type, {cols, rows}, data);
  }

  // N(mean, std) entries; std defaults to the spec's weight_std.
  absl::Status Vector(const std::string& name, int64_t n, float mean, float std = -1.0f) {
    const float sd = std >= 0.0f ? std : spec_.weight_std;
    std::vector<float> v(n);
    for (float& x : v) x = mean + normal_.Next() * sd;
    return w_.AddTensor(name, TensorType::kF32, {n},
                        std::string_view(reinterpret_cast<const char*>(v.data()),
                                         n * sizeof(float)));
  }

 private:
  TensorType TypeOf(const std::string& name) const {
    for (const auto& [suffix, type] : spec_.type_overrides) {
      if (absl::EndsWith(name, suffix)) return type;
    }
    return spec_.type;
  }

  const RandomModelSpec& spec_;
  gguf::GgufWriter& w_;
  Normal normal_;
};

}  // namespace

absl::StatusOr<RandomModelSpec> NamedShape(const std::string& name) {
  RandomModelSpec spec;
  if (name == "tiny") return spec;
  if (name == "llama-3.2-1b") {
    spec.n_embd = 2048;
    spec.n_layers = 16;
    spec.n_heads = 32;
    spec.n_kv_heads = 8;
    spec.n_ff = 8192;
    spec.vocab_size = 128256;
    spec.context_length = 131072;
    spec.rope_base = 500000.0f;
    spec.tied_output = true;
    return spec;
  }
  return absl::InvalidArgumentError("unknown shape '" + name + "' (tiny, llama-3.2-1b)");
}

absl::Status ApplyQuantMix(const std::string& mix, RandomModelSpec* spec) {
  TensorType base, wide;
  if (mix == "q4_k_m") {
    base = TensorType::kQ4_K;
    wide = TensorType::kQ6_K;
  } else if (mix == "q3_k_m") {
    base = TensorType::kQ3_K;
    wide = TensorType::kQ5_K;
  } else {
    return absl::InvalidArgumentError("unknown quantization mix '" + mix + "' (q4_k_m, q3_k_m)");
  }
  spec->type = base;
  spec->type_overrides = {
      {"attn_v.weight", wide}, {"ffn_down.weight", wide}, {"output.weight", wide}};
  return absl::OkStatus();
}

absl::StatusOr<std::string> BuildRandomModel(const RandomModelSpec& s) {
  if (s.n_embd <= 0 || s.n_layers <= 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 || s.n_ff <= 0 ||
      s.vocab_size < 259 || s.context_length <= 0) {
    return absl::InvalidArgumentError("random model dimensions must be positive (vocab >= 259)");
  }
  if ((s.head_dim == 0 && s.n_embd % s.n_heads != 0) || s.n_heads % s.n_kv_heads != 0 ||
      s.head_dim < 0 || s.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        "heads must divide the embedding (or head_dim be set, even) and kv heads the heads");
  }
  if (s.eot_token_id >= s.vocab_size) {
    return absl::InvalidArgumentError("eot_token_id is outside the vocabulary");
  }
  const std::string arch = ArchName(s.arch);
  ModelConfig shape;
  shape.n_embd = s.n_embd;
  shape.n_heads = s.n_heads;
  shape.n_kv_heads = s.n_kv_heads;
  shape.head_dim = s.head_dim > 0 ? s.head_dim : s.n_embd / s.n_heads;
  shape.n_ff = s.n_ff;
  gguf::GgufWriter w;
  w.SetString("general.architecture", arch);
  w.SetString("general.name", "random-" + arch);
  w.SetUint32(arch + ".context_length", s.context_length);
  w.SetUint32(arch + ".embedding_length", s.n_embd);
  w.SetUint32(arch + ".block_count", s.n_layers);
  w.SetUint32(arch + ".feed_forward_length", s.n_ff);
  w.SetUint32(arch + ".attention.head_count", s.n_heads);
  w.SetUint32(arch + ".attention.head_count_kv", s.n_kv_heads);
  if (s.head_dim > 0) {
    w.SetUint32(arch + ".attention.key_length", s.head_dim);
    w.SetUint32(arch + ".attention.value_length", s.head_dim);
  }
  w.SetUint32(arch + ".rope.dimension_count", shape.head_dim);
  w.SetFloat32(arch + ".rope.freq_base", s.rope_base);
  w.SetFloat32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
  w.SetUint32(arch + ".vocab_size", s.vocab_size);
  if (s.sliding_window > 0) w.SetUint32(arch + ".attention.sliding_window", s.sliding_window);
  if (s.attn_softcap > 0) w.SetFloat32(arch + ".attn_logit_softcapping", s.attn_softcap);
  if (s.final_softcap > 0) w.SetFloat32(arch + ".final_logit_softcapping", s.final_softcap);
  if (!s.rope_scaling.empty()) {
    w.SetString(arch + ".rope.scaling.type", s.rope_scaling);
    w.SetFloat32(arch + ".rope.scaling.factor", s.rope_scaling_factor);
  }
  if (s.rope_orig_context > 0) {
    w.SetUint32(arch + ".rope.scaling.original_context_length", s.rope_orig_context);
  }
  AddVocabulary(s.vocab_size, s.eot_token_id, w);

  Builder b(s, w);
  RETURN_IF_ERROR(b.Matrix("token_embd.weight", s.n_embd, s.vocab_size));
  RETURN_IF_ERROR(b.Vector("output_norm.weight", s.n_embd, 1.0f));
  if (!s.tied_output) RETURN_IF_ERROR(b.Matrix("output.weight", s.n_embd, s.vocab_size));
  // Rope divisors around 1-3 (all positive), as Llama 3 and LongRoPE factors are.
  const int64_t half_rope = shape.head_dim / 2;
  if (s.rope_freqs) RETURN_IF_ERROR(b.Vector("rope_freqs.weight", half_rope, 2.0f, 0.3f));
  if (s.long_rope_factors) {
    RETURN_IF_ERROR(b.Vector("rope_factors_long.weight", half_rope, 3.0f, 0.5f));
    RETURN_IF_ERROR(b.Vector("rope_factors_short.weight", half_rope, 1.5f, 0.25f));
  }
  // Every tensor the architecture's table entry requires, in its order.
  for (int32_t l = 0; l < s.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    for (const LayerTensor& t : ArchSpecOf(s.arch).layer_tensors) {
      if (t.presence != Presence::kRequired) continue;
      const ModelConfig::TensorShape ts = shape.LayerTensorShape(t.role);
      if (ts.cols > 0) {
        RETURN_IF_ERROR(b.Matrix(p + t.name, ts.cols, ts.rows));
      } else {
        RETURN_IF_ERROR(b.Vector(p + t.name, ts.rows, ts.is_norm ? 1.0f : 0.0f));
      }
    }
  }
  return w.Serialize();
}

absl::Status WriteRandomModel(const RandomModelSpec& spec, const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, BuildRandomModel(spec));
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return absl::InternalError("cannot open " + path + " for writing");
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

}  // namespace baton::engine
