// A loaded model: its config and its weights bound to tensors of an mmapped GGUF file. Immutable
// after Load, so one Model is shared (shared_ptr<const Model>) by every engine and thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/gguf/gguf_file.h"
#include "engine/model/model_config.h"
#include "engine/tensor/tensor_type.h"

namespace baton::engine {
namespace kernels {
class PackedWeights;
}

// A 2-D weight in GGUF order: `rows` rows of `cols` elements (cols = the input dimension), each
// row RowBytes(type, cols) bytes, stored back to back inside the GGUF mapping.
struct WeightMatrix {
  TensorType type = TensorType::kF32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  // The same weights repacked for this CPU's kernels at load (engine/kernels/cpu/
  // packed_weights.h), or nullptr when they read `data` in place. `data` stays valid either way.
  const kernels::PackedWeights* cpu_packed = nullptr;
  size_t row_bytes() const { return RowBytes(type, cols); }
};

// One layer's weights. Which are present is given by the architecture's table entry
// (arch_table.h) and the file: an absent matrix has data == nullptr, an absent vector is empty.
struct LayerWeights {
  std::vector<float> attn_norm;
  WeightMatrix wq, wk, wv;  // or, fused, wqkv = [q; k; v] rows
  WeightMatrix wqkv;
  WeightMatrix wo;
  std::vector<float> q_bias, k_bias, v_bias;
  std::vector<float> q_norm, k_norm;  // head_dim each, shared by every head
  std::vector<float> post_attn_norm;
  std::vector<float> ffn_norm;
  WeightMatrix ffn_gate, ffn_up;  // or, fused, ffn_gate_up = [gate; up] rows
  WeightMatrix ffn_gate_up;
  WeightMatrix ffn_down;
  std::vector<float> post_ffn_norm;
};

// Llama 3.1 rope divisors (rope_dim / 2 entries) from c's rope.scaling keys: factor,
// low/high_freq_factor and original_context_length.
std::vector<float> Llama3RopeFactors(const ModelConfig& c);

class Model {
 public:
  ~Model();

  // Maps the GGUF file at `path` and binds every tensor; weights that a kernel of this CPU reads
  // faster repacked (packed_weights.h) are repacked once, and their pages of the mapping
  // released, so resident memory stays about one copy of the file. Errors: the reader's codes
  // for an unreadable or corrupt file; kInvalidArgument when a tensor is missing or has the
  // wrong shape; kUnimplemented for an unsupported architecture or tensor type.
  static absl::StatusOr<std::shared_ptr<const Model>> Load(const std::string& path);
  // Same over an already opened file (the Model takes ownership).
  static absl::StatusOr<std::shared_ptr<const Model>> FromGguf(
      std::unique_ptr<gguf::GgufFile> file);

  const ModelConfig& config() const { return config_; }
  const gguf::GgufFile& file() const { return *file_; }
  const WeightMatrix& token_embd() const { return token_embd_; }
  // The output projection; the token embedding when the model ties them.
  const WeightMatrix& output() const { return output_; }
  bool tied_output() const { return tied_output_; }
  const std::vector<float>& output_norm() const { return output_norm_; }
  // Per-frequency rope divisors (rope_dim / 2 entries), empty when the model has none: the
  // rope_freqs tensor, Llama 3.1 factors computed from the rope.scaling keys when that tensor is
  // absent, or LongRoPE's rope_factors_long (when context_length exceeds the original context)
  // or rope_factors_short.
  const std::vector<float>& rope_freq_factors() const { return rope_freqs_; }
  const LayerWeights& layer(int32_t i) const { return layers_[i]; }

 private:
  Model() = default;
  absl::Status Bind();
  absl::Status BindLayer(int32_t index, LayerWeights& layer);
  absl::Status BindRopeFactors();
  void RepackForCpu();

  std::unique_ptr<gguf::GgufFile> file_;
  ModelConfig config_;
  WeightMatrix token_embd_;
  WeightMatrix output_;
  bool tied_output_ = false;
  std::vector<float> output_norm_;
  std::vector<float> rope_freqs_;
  std::vector<LayerWeights> layers_;
  std::vector<std::unique_ptr<const kernels::PackedWeights>> packed_;
};

}  // namespace baton::engine
