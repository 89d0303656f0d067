#include "engine/model/model.h"

#include <cmath>
#include <cstring>
#include <string>

#include "common/status_macros.h"
#include "engine/kernels/cpu/packed_weights.h"
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

std::vector<float> Llama3RopeFactors(const ModelConfig& c) {
  // Wavelengths shorter than orig/high keep their frequency, longer than orig/low are divided
  // by the scaling factor, and the band between blends the two.
  const double orig = c.rope_orig_context;
  const double low_wavelen = orig / c.llama3_low_freq_factor;
  const double high_wavelen = orig / c.llama3_high_freq_factor;
  std::vector<float> factors(c.rope_dim / 2);
  for (size_t i = 0; i < factors.size(); ++i) {
    const double freq = std::pow(static_cast<double>(c.rope_base), -2.0 * i / c.rope_dim);
    const double wavelen = 2 * M_PI / freq;
    double f = 1.0;
    if (wavelen > low_wavelen) {
      f = c.rope_scaling_factor;
    } else if (wavelen >= high_wavelen) {
      const double smooth = (orig / wavelen - c.llama3_low_freq_factor) /
                            (c.llama3_high_freq_factor - c.llama3_low_freq_factor);
      f = 1.0 / ((1 - smooth) / c.rope_scaling_factor + smooth);
    }
    factors[i] = static_cast<float>(f);
  }
  return factors;
}

Model::~Model() = default;

absl::StatusOr<std::shared_ptr<const Model>> Model::Load(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::GgufFile> file, gguf::GgufFile::Open(path));
  return FromGguf(std::move(file));
}

absl::StatusOr<std::shared_ptr<const Model>> Model::FromGguf(
    std::unique_ptr<gguf::GgufFile> file) {
  std::shared_ptr<Model> model(new Model());
  model->file_ = std::move(file);
  RETURN_IF_ERROR(model->Bind());
  model->RepackForCpu();
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
  RETURN_IF_ERROR(BindRopeFactors());
  layers_.resize(c.n_layers);
  for (int32_t i = 0; i < c.n_layers; ++i) RETURN_IF_ERROR(BindLayer(i, layers_[i]));
  return absl::OkStatus();
}

absl::Status Model::BindLayer(int32_t index, LayerWeights& l) {
  const ModelConfig& c = config_;
  const gguf::GgufFile& f = *file_;
  const std::string prefix = "blk." + std::to_string(index) + ".";
  for (const LayerTensor& t : ArchSpecOf(c.arch).layer_tensors) {
    const std::string name = prefix + t.name;
    if (t.presence == Presence::kOptional && f.FindTensor(name) == nullptr) continue;
    WeightMatrix* matrix = nullptr;
    std::vector<float>* vector = nullptr;
    switch (t.role) {
      case TensorRole::kAttnNorm: vector = &l.attn_norm; break;
      case TensorRole::kAttnQ: matrix = &l.wq; break;
      case TensorRole::kAttnK: matrix = &l.wk; break;
      case TensorRole::kAttnV: matrix = &l.wv; break;
      case TensorRole::kAttnQkv: matrix = &l.wqkv; break;
      case TensorRole::kAttnQBias: vector = &l.q_bias; break;
      case TensorRole::kAttnKBias: vector = &l.k_bias; break;
      case TensorRole::kAttnVBias: vector = &l.v_bias; break;
      case TensorRole::kAttnQNorm: vector = &l.q_norm; break;
      case TensorRole::kAttnKNorm: vector = &l.k_norm; break;
      case TensorRole::kAttnOut: matrix = &l.wo; break;
      case TensorRole::kPostAttnNorm: vector = &l.post_attn_norm; break;
      case TensorRole::kFfnNorm: vector = &l.ffn_norm; break;
      case TensorRole::kFfnGate: matrix = &l.ffn_gate; break;
      case TensorRole::kFfnUp: matrix = &l.ffn_up; break;
      case TensorRole::kFfnGateUp: matrix = &l.ffn_gate_up; break;
      case TensorRole::kFfnDown: matrix = &l.ffn_down; break;
      case TensorRole::kPostFfnNorm: vector = &l.post_ffn_norm; break;
    }
    const ModelConfig::TensorShape shape = c.LayerTensorShape(t.role);
    if (matrix != nullptr) {
      ASSIGN_OR_RETURN(*matrix, BindMatrix(f, name, shape.cols, shape.rows));
    } else {
      ASSIGN_OR_RETURN(*vector, ReadVector(f, name, shape.rows));
    }
  }
  return absl::OkStatus();
}

void Model::RepackForCpu() {
  const gguf::GgufFile& f = *file_;
  auto repack = [&](WeightMatrix& w) {
    if (w.data == nullptr) return;
    packed_.push_back(kernels::PackedWeights::Create(
        w.type, w.data, w.rows, w.cols,
        [&f](const uint8_t* begin, size_t bytes) { f.ReleasePages(begin, bytes); }));
    w.cpu_packed = packed_.back().get();
    if (packed_.back() == nullptr) packed_.pop_back();
  };
  repack(token_embd_);
  if (tied_output_) {
    output_ = token_embd_;
  } else {
    repack(output_);
  }
  for (LayerWeights& l : layers_) {
    for (WeightMatrix* w : {&l.wq, &l.wk, &l.wv, &l.wqkv, &l.wo, &l.ffn_gate, &l.ffn_up,
                            &l.ffn_gate_up, &l.ffn_down}) {
      repack(*w);
    }
  }
}

absl::Status Model::BindRopeFactors() {
  const ModelConfig& c = config_;
  const gguf::GgufFile& f = *file_;
  const int64_t n = c.rope_dim / 2;
  if (f.FindTensor("rope_freqs.weight") != nullptr) {
    ASSIGN_OR_RETURN(rope_freqs_, ReadVector(f, "rope_freqs.weight", n));
    return absl::OkStatus();
  }
  if (ArchSpecOf(c.arch).long_rope_factors) {
    const char* name = c.context_length > c.rope_orig_context ? "rope_factors_long.weight"
                                                              : "rope_factors_short.weight";
    if (f.FindTensor(name) != nullptr) {
      ASSIGN_OR_RETURN(rope_freqs_, ReadVector(f, name, n));
    }
    return absl::OkStatus();
  }
  if (c.rope_scaling == RopeScaling::kLlama3) rope_freqs_ = Llama3RopeFactors(c);
  return absl::OkStatus();
}

}  // namespace baton::engine
