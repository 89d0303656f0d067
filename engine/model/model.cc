#include "engine/model/model.h"

#include <cstring>
#include <string>

#include "common/status_macros.h"
#include "engine/tensor/fp16.h"

namespace baton::engine {
namespace {

std::string Shape(const gguf::TensorInfo& t) {
  std::string s = "[";
  for (size_t i = 0; i < t.dims.size(); ++i) s += (i ? "," : "") + std::to_string(t.dims[i]);
  return s + "]";
}

absl::StatusOr<WeightMatrix> BindMatrix(const gguf::GgufFile& file, const std::string& name,
                                        int64_t cols, int64_t rows) {
  const gguf::TensorInfo* t = file.FindTensor(name);
  if (t == nullptr) return absl::InvalidArgumentError("missing tensor " + name);
  if (t->dims.size() != 2 || t->dims[0] != cols || t->dims[1] != rows) {
    return absl::InvalidArgumentError(name + " has shape " + Shape(*t) + ", expected [" +
                                      std::to_string(cols) + "," + std::to_string(rows) + "]");
  }
  return WeightMatrix{t->type, t->data, rows, cols};
}

// A 1-D tensor (norm weight, bias, rope factors) converted to floats.
absl::StatusOr<std::vector<float>> ReadVector(const gguf::GgufFile& file, const std::string& name,
                                              int64_t n) {
  const gguf::TensorInfo* t = file.FindTensor(name);
  if (t == nullptr) return absl::InvalidArgumentError("missing tensor " + name);
  if (t->dims.size() != 1 || t->dims[0] != n) {
    return absl::InvalidArgumentError(name + " has shape " + Shape(*t) + ", expected [" +
                                      std::to_string(n) + "]");
  }
  std::vector<float> out(n);
  const auto* u16 = reinterpret_cast<const uint16_t*>(t->data);
  switch (t->type) {
    case TensorType::kF32:
      std::memcpy(out.data(), t->data, n * sizeof(float));
      break;
    case TensorType::kF16:
      for (int64_t i = 0; i < n; ++i) out[i] = Fp16ToFloat(u16[i]);
      break;
    case TensorType::kBF16:
      for (int64_t i = 0; i < n; ++i) out[i] = Bf16ToFloat(u16[i]);
      break;
    default:
      return absl::UnimplementedError(name + ": 1-D tensors must be f32, f16 or bf16");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Model>> Model::Load(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::GgufFile> file, gguf::GgufFile::Open(path));
  return FromGguf(std::move(file));
}

absl::StatusOr<std::shared_ptr<const Model>> Model::FromGguf(
    std::unique_ptr<gguf::GgufFile> file) {
  std::shared_ptr<Model> model(new Model());
  model->file_ = std::move(file);
  RETURN_IF_ERROR(model->Bind());
  return std::shared_ptr<const Model>(std::move(model));
}

absl::Status Model::Bind() {
  ASSIGN_OR_RETURN(config_, ReadModelConfig(*file_));
  const ModelConfig& c = config_;
  const gguf::GgufFile& f = *file_;
  ASSIGN_OR_RETURN(token_embd_, BindMatrix(f, "token_embd.weight", c.n_embd, c.vocab_size));
  ASSIGN_OR_RETURN(output_norm_, ReadVector(f, "output_norm.weight", c.n_embd));
  tied_output_ = f.FindTensor("output.weight") == nullptr;
  if (tied_output_) {
    output_ = token_embd_;
  } else {
    ASSIGN_OR_RETURN(output_, BindMatrix(f, "output.weight", c.n_embd, c.vocab_size));
  }
  if (f.FindTensor("rope_freqs.weight") != nullptr) {
    ASSIGN_OR_RETURN(rope_freqs_, ReadVector(f, "rope_freqs.weight", c.rope_dim / 2));
  }
  layers_.resize(c.n_layers);
  for (int32_t i = 0; i < c.n_layers; ++i) {
    LayerWeights& l = layers_[i];
    const std::string p = "blk." + std::to_string(i) + ".";
    ASSIGN_OR_RETURN(l.attn_norm, ReadVector(f, p + "attn_norm.weight", c.n_embd));
    ASSIGN_OR_RETURN(l.wq, BindMatrix(f, p + "attn_q.weight", c.n_embd, c.q_dim()));
    ASSIGN_OR_RETURN(l.wk, BindMatrix(f, p + "attn_k.weight", c.n_embd, c.kv_dim()));
    ASSIGN_OR_RETURN(l.wv, BindMatrix(f, p + "attn_v.weight", c.n_embd, c.kv_dim()));
    ASSIGN_OR_RETURN(l.wo, BindMatrix(f, p + "attn_output.weight", c.q_dim(), c.n_embd));
    if (c.qkv_bias) {
      ASSIGN_OR_RETURN(l.q_bias, ReadVector(f, p + "attn_q.bias", c.q_dim()));
      ASSIGN_OR_RETURN(l.k_bias, ReadVector(f, p + "attn_k.bias", c.kv_dim()));
      ASSIGN_OR_RETURN(l.v_bias, ReadVector(f, p + "attn_v.bias", c.kv_dim()));
    }
    if (c.qk_norm) {
      ASSIGN_OR_RETURN(l.q_norm, ReadVector(f, p + "attn_q_norm.weight", c.head_dim));
      ASSIGN_OR_RETURN(l.k_norm, ReadVector(f, p + "attn_k_norm.weight", c.head_dim));
    }
    ASSIGN_OR_RETURN(l.ffn_norm, ReadVector(f, p + "ffn_norm.weight", c.n_embd));
    ASSIGN_OR_RETURN(l.ffn_gate, BindMatrix(f, p + "ffn_gate.weight", c.n_embd, c.n_ff));
    ASSIGN_OR_RETURN(l.ffn_up, BindMatrix(f, p + "ffn_up.weight", c.n_embd, c.n_ff));
    ASSIGN_OR_RETURN(l.ffn_down, BindMatrix(f, p + "ffn_down.weight", c.n_ff, c.n_embd));
  }
  return absl::OkStatus();
}

}  // namespace baton::engine
