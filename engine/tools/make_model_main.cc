// make_model: writes a random-weight GGUF model (N(0, 0.02) weights) of a named or custom shape,
// of any architecture of engine/model/arch_table.h, with the architecture's features as flags.
//   bazel run //engine/tools:make_model -- --arch llama --type q4_0 --shape llama-3.2-1b
//       --out /tmp/llama1b-q4_0.gguf --seed 1
//   bazel run //engine/tools:make_model -- --type q4_0 --shape llama-3.2-1b
//       --overrides token_embd.weight=q6_k --out /tmp/llama1b-q4_0-q6k-embd.gguf
//   bazel run //engine/tools:make_model -- --mix q4_k_m --shape llama-3.2-1b --out /tmp/q4km.gguf
//   bazel run //engine/tools:make_model -- --arch gemma2 --head_dim 128 --sliding_window 4096
//       --attn_softcap 50 --final_softcap 30 --out /tmp/gemma2.gguf
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "engine/model/random_model.h"
#include "engine/tools/flag_values.h"

ABSL_FLAG(std::string, arch, "llama", "llama, qwen2, qwen3, gemma2, gemma3 or phi3");
ABSL_FLAG(std::string, type, "f32", "f32 f16 bf16 q4_0 q4_1 q5_0 q8_0 q4_k q5_k q6_k");
ABSL_FLAG(std::string, mix, "",
          "llama.cpp-style quantization mix instead of --type: q4_k_m or q3_k_m");
ABSL_FLAG(std::string, overrides, "",
          "per-tensor types after --type/--mix: suffix=type,... (e.g. token_embd.weight=q6_k)");
ABSL_FLAG(std::string, shape, "tiny", "tiny, llama-3.2-1b or custom (then the dims below)");
ABSL_FLAG(int32_t, n_embd, 256, "custom: embedding width");
ABSL_FLAG(int32_t, n_layers, 2, "custom: layers");
ABSL_FLAG(int32_t, n_heads, 4, "custom: attention heads");
ABSL_FLAG(int32_t, n_kv_heads, 2, "custom: KV heads");
ABSL_FLAG(int32_t, n_ff, 512, "custom: FFN width");
ABSL_FLAG(int32_t, vocab, 512, "custom: vocabulary size (>= 259)");
ABSL_FLAG(int32_t, context, 2048, "custom: context length");
ABSL_FLAG(int32_t, head_dim, 0, "key/value length per head (0: n_embd / n_heads)");
ABSL_FLAG(float, rope_base, 0.0f, "rope.freq_base (0: the shape's)");
ABSL_FLAG(int32_t, sliding_window, 0, "attention.sliding_window (0: not written)");
ABSL_FLAG(float, attn_softcap, 0.0f, "attn_logit_softcapping (0: not written)");
ABSL_FLAG(float, final_softcap, 0.0f, "final_logit_softcapping (0: not written)");
ABSL_FLAG(std::string, rope_scaling, "", "rope.scaling.type: linear, yarn or llama3");
ABSL_FLAG(float, rope_scaling_factor, 1.0f, "rope.scaling.factor");
ABSL_FLAG(int32_t, rope_orig_context, 0, "rope.scaling.original_context_length (0: not written)");
ABSL_FLAG(bool, rope_freqs, false, "write a rope_freqs.weight tensor (Llama 3 style)");
ABSL_FLAG(bool, long_rope_factors, false, "write rope_factors_long/short.weight (LongRoPE)");
ABSL_FLAG(float, weight_std, 0.02f, "standard deviation of the weights");
ABSL_FLAG(std::string, out, "", "output path");
ABSL_FLAG(uint64_t, seed, 1, "weights seed");

int main(int argc, char** argv) {
  using namespace baton::engine;
  absl::ParseCommandLine(argc, argv);
  RandomModelSpec spec;
  const std::string shape = absl::GetFlag(FLAGS_shape);
  if (shape == "custom") {
    spec.n_embd = absl::GetFlag(FLAGS_n_embd);
    spec.n_layers = absl::GetFlag(FLAGS_n_layers);
    spec.n_heads = absl::GetFlag(FLAGS_n_heads);
    spec.n_kv_heads = absl::GetFlag(FLAGS_n_kv_heads);
    spec.n_ff = absl::GetFlag(FLAGS_n_ff);
    spec.vocab_size = absl::GetFlag(FLAGS_vocab);
    spec.context_length = absl::GetFlag(FLAGS_context);
  } else {
    auto named = NamedShape(shape);
    if (!named.ok()) {
      std::cerr << named.status() << "\n";
      return 2;
    }
    spec = *named;
  }
  const std::string arch = absl::GetFlag(FLAGS_arch);
  const ArchSpec* arch_spec = FindArch(arch);
  if (arch_spec == nullptr) {
    std::cerr << "unknown --arch " << arch << "\n";
    return 2;
  }
  spec.arch = arch_spec->arch;
  spec.head_dim = absl::GetFlag(FLAGS_head_dim);
  if (absl::GetFlag(FLAGS_rope_base) > 0) spec.rope_base = absl::GetFlag(FLAGS_rope_base);
  spec.sliding_window = absl::GetFlag(FLAGS_sliding_window);
  spec.attn_softcap = absl::GetFlag(FLAGS_attn_softcap);
  spec.final_softcap = absl::GetFlag(FLAGS_final_softcap);
  spec.rope_scaling = absl::GetFlag(FLAGS_rope_scaling);
  spec.rope_scaling_factor = absl::GetFlag(FLAGS_rope_scaling_factor);
  spec.rope_orig_context = absl::GetFlag(FLAGS_rope_orig_context);
  spec.rope_freqs = absl::GetFlag(FLAGS_rope_freqs);
  spec.long_rope_factors = absl::GetFlag(FLAGS_long_rope_factors);
  spec.weight_std = absl::GetFlag(FLAGS_weight_std);
  auto type = baton::engine::tools::ParseTensorType(absl::GetFlag(FLAGS_type));
  if (!type.ok()) {
    std::cerr << "--type: " << type.status() << "\n";
    return 2;
  }
  spec.type = *type;
  if (const std::string mix = absl::GetFlag(FLAGS_mix); !mix.empty()) {
    if (absl::Status s = ApplyQuantMix(mix, &spec); !s.ok()) {
      std::cerr << "--mix: " << s << "\n";
      return 2;
    }
  }
  auto overrides = baton::engine::tools::ParseTypeOverrides(absl::GetFlag(FLAGS_overrides));
  if (!overrides.ok()) {
    std::cerr << "--overrides: " << overrides.status() << "\n";
    return 2;
  }
  // Explicit overrides win over the mix's (first match wins).
  spec.type_overrides.insert(spec.type_overrides.begin(), overrides->begin(), overrides->end());
  spec.seed = absl::GetFlag(FLAGS_seed);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::cerr << "--out is required\n";
    return 2;
  }
  if (absl::Status s = WriteRandomModel(spec, out); !s.ok()) {
    std::cerr << "make_model: " << s << "\n";
    return 1;
  }
  std::cout << "wrote " << out << "\n";
  return 0;
}
