// The architectures the engine runs, as data: one ArchSpec entry per GGUF `general.architecture`
// value names its tensors (which are required, optional or fused), its norm/activation/rope style
// and the architecture-specific GGUF keys it reads. ModelConfig, Model and ForwardPass read these
// entries and never test an architecture by name, so a new family is one entry in arch_table.cc
// plus its test. Immutable static data: thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "absl/strings/string_view.h"

namespace baton::engine {

enum class ModelArch : uint8_t {
  kLlama = 0,   // Llama 2/3.x, also Mistral (same GGUF name; sliding window when the file says)
  kQwen2 = 1,   // biases on Q, K and V
  kQwen3 = 2,   // an RMSNorm over each Q and K head
  kGemma2 = 3,  // embedding scale, GELU, pre/post norms, soft-capping, alternating window
  kGemma3 = 4,  // gemma2 without soft-capping, with QK-norm and five local layers in six
  kPhi3 = 5,    // fused QKV and gate/up, LongRoPE factors
};

// The `general.architecture` value of `arch`.
const char* ModelArchName(ModelArch arch);

// Rotation pairs: kNormal rotates (x[2i], x[2i+1]) as llama.cpp does for llama; kNeox rotates
// (x[i], x[i + rope_dim/2]).
enum class RopeStyle : uint8_t { kNormal, kNeox };

// The FFN gate's activation: act(gate) * up.
enum class Activation : uint8_t { kSilu, kGeluTanh };

// Which layers attend through a sliding window (of `<arch>.attention.sliding_window` tokens, or
// ArchSpec::default_sliding_window when the key is absent).
enum class WindowLayers : uint8_t {
  kNone,          // no layer; the key is ignored
  kAllIfKey,      // every layer, when the file has the key (Mistral, Phi-3)
  kEven,          // layers 0, 2, 4, ... (Gemma 2)
  kAllButSixth,   // every layer but 5, 11, 17, ... (Gemma 3)
};

// What a weight is for. Shapes follow from the role and the config (see model.cc).
enum class TensorRole : uint8_t {
  // Per layer.
  kAttnNorm,
  kAttnQ,
  kAttnK,
  kAttnV,
  kAttnQkv,  // fused [q; k; v] rows
  kAttnQBias,
  kAttnKBias,
  kAttnVBias,
  kAttnQNorm,  // head_dim gains shared by every head
  kAttnKNorm,
  kAttnOut,
  kPostAttnNorm,  // applied to the attention output before the residual add
  kFfnNorm,
  kFfnGate,
  kFfnUp,
  kFfnGateUp,  // fused [gate; up] rows
  kFfnDown,
  kPostFfnNorm,
};

enum class Presence : uint8_t { kRequired, kOptional };

// One per-layer tensor: `blk.<i>.<name>`.
struct LayerTensor {
  TensorRole role;
  const char* name;
  Presence presence;
};

struct ArchSpec {
  ModelArch arch;
  const char* name;  // general.architecture
  std::span<const LayerTensor> layer_tensors;
  RopeStyle rope;
  Activation activation;
  // The token embedding is multiplied by sqrt(n_embd) before the first layer.
  bool scale_embedding;
  // Reads `<arch>.attn_logit_softcapping` and `<arch>.final_logit_softcapping`, defaulting to
  // the values below: scores (and final logits) become cap * tanh(x / cap).
  bool soft_capping;
  float default_attn_softcap;
  float default_final_softcap;
  WindowLayers window_layers;
  int32_t default_sliding_window;  // 0: none unless the file has the key
  // Rope base of sliding-window layers (0: the file's rope.freq_base, as for global layers).
  float window_rope_base;
  // Reads `rope_factors_long/short.weight` (LongRoPE) besides `rope_freqs.weight`.
  bool long_rope_factors;
  // Scores are q.k / sqrt(head_dim), except for a model of exactly this many layers (the 27B
  // Gemmas, as llama.cpp identifies them), where they are q.k / sqrt(n_embd / n_heads). 0: never.
  int32_t embd_query_scale_layers;
};

// The entry for `general.architecture` == name, or null when the table does not know it.
const ArchSpec* FindArch(absl::string_view name);
// The entry of `arch` (every ModelArch has one).
const ArchSpec& ArchSpecOf(ModelArch arch);
// Every entry, in ModelArch order.
std::span<const ArchSpec> AllArchs();

}  // namespace baton::engine
