#include "engine/model/arch_table.h"

namespace baton::engine {
namespace {

using R = TensorRole;
constexpr Presence kReq = Presence::kRequired;
constexpr Presence kOpt = Presence::kOptional;

constexpr LayerTensor kLlamaTensors[] = {
    {R::kAttnNorm, "attn_norm.weight", kReq},  {R::kAttnQ, "attn_q.weight", kReq},
    {R::kAttnK, "attn_k.weight", kReq},        {R::kAttnV, "attn_v.weight", kReq},
    {R::kAttnQBias, "attn_q.bias", kOpt},      {R::kAttnKBias, "attn_k.bias", kOpt},
    {R::kAttnVBias, "attn_v.bias", kOpt},      {R::kAttnOut, "attn_output.weight", kReq},
    {R::kFfnNorm, "ffn_norm.weight", kReq},    {R::kFfnGate, "ffn_gate.weight", kReq},
    {R::kFfnUp, "ffn_up.weight", kReq},        {R::kFfnDown, "ffn_down.weight", kReq},
};

constexpr LayerTensor kQwen2Tensors[] = {
    {R::kAttnNorm, "attn_norm.weight", kReq},  {R::kAttnQ, "attn_q.weight", kReq},
    {R::kAttnK, "attn_k.weight", kReq},        {R::kAttnV, "attn_v.weight", kReq},
    {R::kAttnQBias, "attn_q.bias", kReq},      {R::kAttnKBias, "attn_k.bias", kReq},
    {R::kAttnVBias, "attn_v.bias", kReq},      {R::kAttnOut, "attn_output.weight", kReq},
    {R::kFfnNorm, "ffn_norm.weight", kReq},    {R::kFfnGate, "ffn_gate.weight", kReq},
    {R::kFfnUp, "ffn_up.weight", kReq},        {R::kFfnDown, "ffn_down.weight", kReq},
};

constexpr LayerTensor kQwen3Tensors[] = {
    {R::kAttnNorm, "attn_norm.weight", kReq},    {R::kAttnQ, "attn_q.weight", kReq},
    {R::kAttnK, "attn_k.weight", kReq},          {R::kAttnV, "attn_v.weight", kReq},
    {R::kAttnQNorm, "attn_q_norm.weight", kReq}, {R::kAttnKNorm, "attn_k_norm.weight", kReq},
    {R::kAttnOut, "attn_output.weight", kReq},   {R::kFfnNorm, "ffn_norm.weight", kReq},
    {R::kFfnGate, "ffn_gate.weight", kReq},      {R::kFfnUp, "ffn_up.weight", kReq},
    {R::kFfnDown, "ffn_down.weight", kReq},
};

constexpr LayerTensor kGemma2Tensors[] = {
    {R::kAttnNorm, "attn_norm.weight", kReq},
    {R::kAttnQ, "attn_q.weight", kReq},
    {R::kAttnK, "attn_k.weight", kReq},
    {R::kAttnV, "attn_v.weight", kReq},
    {R::kAttnOut, "attn_output.weight", kReq},
    {R::kPostAttnNorm, "post_attention_norm.weight", kReq},
    {R::kFfnNorm, "ffn_norm.weight", kReq},
    {R::kFfnGate, "ffn_gate.weight", kReq},
    {R::kFfnUp, "ffn_up.weight", kReq},
    {R::kFfnDown, "ffn_down.weight", kReq},
    {R::kPostFfnNorm, "post_ffw_norm.weight", kReq},
};

constexpr LayerTensor kGemma3Tensors[] = {
    {R::kAttnNorm, "attn_norm.weight", kReq},
    {R::kAttnQ, "attn_q.weight", kReq},
    {R::kAttnK, "attn_k.weight", kReq},
    {R::kAttnV, "attn_v.weight", kReq},
    {R::kAttnQNorm, "attn_q_norm.weight", kReq},
    {R::kAttnKNorm, "attn_k_norm.weight", kReq},
    {R::kAttnOut, "attn_output.weight", kReq},
    {R::kPostAttnNorm, "post_attention_norm.weight", kReq},
    {R::kFfnNorm, "ffn_norm.weight", kReq},
    {R::kFfnGate, "ffn_gate.weight", kReq},
    {R::kFfnUp, "ffn_up.weight", kReq},
    {R::kFfnDown, "ffn_down.weight", kReq},
    {R::kPostFfnNorm, "post_ffw_norm.weight", kReq},
};

// Phi-3 stores the fused gate/up projection under the name ffn_up.
constexpr LayerTensor kPhi3Tensors[] = {
    {R::kAttnNorm, "attn_norm.weight", kReq},   {R::kAttnQkv, "attn_qkv.weight", kReq},
    {R::kAttnOut, "attn_output.weight", kReq},  {R::kFfnNorm, "ffn_norm.weight", kReq},
    {R::kFfnGateUp, "ffn_up.weight", kReq},     {R::kFfnDown, "ffn_down.weight", kReq},
};

// Indexed by ModelArch.
constexpr ArchSpec kArchs[] = {
    {.arch = ModelArch::kLlama,
     .name = "llama",
     .layer_tensors = kLlamaTensors,
     .rope = RopeStyle::kNormal,
     .activation = Activation::kSilu,
     .window_layers = WindowLayers::kAllIfKey},
    {.arch = ModelArch::kQwen2,
     .name = "qwen2",
     .layer_tensors = kQwen2Tensors,
     .rope = RopeStyle::kNeox,
     .activation = Activation::kSilu},
    {.arch = ModelArch::kQwen3,
     .name = "qwen3",
     .layer_tensors = kQwen3Tensors,
     .rope = RopeStyle::kNeox,
     .activation = Activation::kSilu},
    {.arch = ModelArch::kGemma2,
     .name = "gemma2",
     .layer_tensors = kGemma2Tensors,
     .rope = RopeStyle::kNeox,
     .activation = Activation::kGeluTanh,
     .scale_embedding = true,
     .soft_capping = true,
     .default_attn_softcap = 50.0f,
     .default_final_softcap = 30.0f,
     .window_layers = WindowLayers::kEven,
     .default_sliding_window = 4096,
     .embd_query_scale_layers = 46},
    {.arch = ModelArch::kGemma3,
     .name = "gemma3",
     .layer_tensors = kGemma3Tensors,
     .rope = RopeStyle::kNeox,
     .activation = Activation::kGeluTanh,
     .scale_embedding = true,
     .window_layers = WindowLayers::kAllButSixth,
     .default_sliding_window = 1024,
     .window_rope_base = 10000.0f,
     .embd_query_scale_layers = 62},
    {.arch = ModelArch::kPhi3,
     .name = "phi3",
     .layer_tensors = kPhi3Tensors,
     .rope = RopeStyle::kNeox,
     .activation = Activation::kSilu,
     .window_layers = WindowLayers::kAllIfKey,
     .long_rope_factors = true},
};

}  // namespace

std::span<const ArchSpec> AllArchs() { return kArchs; }

const ArchSpec& ArchSpecOf(ModelArch arch) { return kArchs[static_cast<size_t>(arch)]; }

const char* ModelArchName(ModelArch arch) { return ArchSpecOf(arch).name; }

const ArchSpec* FindArch(absl::string_view name) {
  for (const ArchSpec& spec : kArchs) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

}  // namespace baton::engine
