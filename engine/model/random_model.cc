#include "engine/model/random_model.h"

#include <cmath>
#include <string>
#include <vector>

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
    const TensorType t = spec_.type;
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

  absl::Status Vector(const std::string& name, int64_t n, float mean) {
    std::vector<float> v(n);
    for (float& x : v) x = mean + normal_.Next() * spec_.weight_std;
    return w_.AddTensor(name, TensorType::kF32, {n},
                        std::string_view(reinterpret_cast<const char*>(v.data()),
                                         n * sizeof(float)));
  }

 private:
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

absl::StatusOr<std::string> BuildRandomModel(const RandomModelSpec& s) {
  if (s.n_embd <= 0 || s.n_layers <= 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 || s.n_ff <= 0 ||
      s.vocab_size < 259 || s.context_length <= 0) {
    return absl::InvalidArgumentError("random model dimensions must be positive (vocab >= 259)");
  }
  if (s.n_embd % s.n_heads != 0 || s.n_heads % s.n_kv_heads != 0) {
    return absl::InvalidArgumentError("heads must divide the embedding and kv heads the heads");
  }
  if (s.eot_token_id >= s.vocab_size) {
    return absl::InvalidArgumentError("eot_token_id is outside the vocabulary");
  }
  const std::string arch = ArchName(s.arch);
  const int32_t head_dim = s.n_embd / s.n_heads;
  gguf::GgufWriter w;
  w.SetString("general.architecture", arch);
  w.SetString("general.name", "random-" + arch);
  w.SetUint32(arch + ".context_length", s.context_length);
  w.SetUint32(arch + ".embedding_length", s.n_embd);
  w.SetUint32(arch + ".block_count", s.n_layers);
  w.SetUint32(arch + ".feed_forward_length", s.n_ff);
  w.SetUint32(arch + ".attention.head_count", s.n_heads);
  w.SetUint32(arch + ".attention.head_count_kv", s.n_kv_heads);
  w.SetUint32(arch + ".rope.dimension_count", head_dim);
  w.SetFloat32(arch + ".rope.freq_base", s.rope_base);
  w.SetFloat32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
  w.SetUint32(arch + ".vocab_size", s.vocab_size);
  AddVocabulary(s.vocab_size, s.eot_token_id, w);

  Builder b(s, w);
  const int32_t q_dim = s.n_embd;
  const int32_t kv_dim = s.n_kv_heads * head_dim;
  RETURN_IF_ERROR(b.Matrix("token_embd.weight", s.n_embd, s.vocab_size));
  RETURN_IF_ERROR(b.Vector("output_norm.weight", s.n_embd, 1.0f));
  if (!s.tied_output) RETURN_IF_ERROR(b.Matrix("output.weight", s.n_embd, s.vocab_size));
  for (int32_t l = 0; l < s.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    RETURN_IF_ERROR(b.Vector(p + "attn_norm.weight", s.n_embd, 1.0f));
    RETURN_IF_ERROR(b.Matrix(p + "attn_q.weight", s.n_embd, q_dim));
    RETURN_IF_ERROR(b.Matrix(p + "attn_k.weight", s.n_embd, kv_dim));
    RETURN_IF_ERROR(b.Matrix(p + "attn_v.weight", s.n_embd, kv_dim));
    RETURN_IF_ERROR(b.Matrix(p + "attn_output.weight", q_dim, s.n_embd));
    if (s.arch == ModelArch::kQwen2) {
      RETURN_IF_ERROR(b.Vector(p + "attn_q.bias", q_dim, 0.0f));
      RETURN_IF_ERROR(b.Vector(p + "attn_k.bias", kv_dim, 0.0f));
      RETURN_IF_ERROR(b.Vector(p + "attn_v.bias", kv_dim, 0.0f));
    }
    if (s.arch == ModelArch::kQwen3) {
      RETURN_IF_ERROR(b.Vector(p + "attn_q_norm.weight", head_dim, 1.0f));
      RETURN_IF_ERROR(b.Vector(p + "attn_k_norm.weight", head_dim, 1.0f));
    }
    RETURN_IF_ERROR(b.Vector(p + "ffn_norm.weight", s.n_embd, 1.0f));
    RETURN_IF_ERROR(b.Matrix(p + "ffn_gate.weight", s.n_embd, s.n_ff));
    RETURN_IF_ERROR(b.Matrix(p + "ffn_up.weight", s.n_embd, s.n_ff));
    RETURN_IF_ERROR(b.Matrix(p + "ffn_down.weight", s.n_ff, s.n_embd));
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
