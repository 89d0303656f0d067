// make_model: writes a random-weight GGUF model (N(0, 0.02) weights) of a named or custom shape.
//   bazel run //engine/tools:make_model -- --arch llama --type q4_0 --shape llama-3.2-1b
//       --out /tmp/llama1b-q4_0.gguf --seed 1
#include <algorithm>
#include <cctype>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "engine/model/random_model.h"

ABSL_FLAG(std::string, arch, "llama", "llama, qwen2 or qwen3");
ABSL_FLAG(std::string, type, "f32", "f32 f16 bf16 q4_0 q4_1 q5_0 q8_0 q4_k q5_k q6_k");
ABSL_FLAG(std::string, shape, "tiny", "tiny, llama-3.2-1b or custom (then the dims below)");
ABSL_FLAG(int32_t, n_embd, 256, "custom: embedding width");
ABSL_FLAG(int32_t, n_layers, 2, "custom: layers");
ABSL_FLAG(int32_t, n_heads, 4, "custom: attention heads");
ABSL_FLAG(int32_t, n_kv_heads, 2, "custom: KV heads");
ABSL_FLAG(int32_t, n_ff, 512, "custom: FFN width");
ABSL_FLAG(int32_t, vocab, 512, "custom: vocabulary size (>= 259)");
ABSL_FLAG(int32_t, context, 2048, "custom: context length");
ABSL_FLAG(std::string, out, "", "output path");
ABSL_FLAG(uint64_t, seed, 1, "weights seed");

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

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
  if (arch == "llama") {
    spec.arch = ModelArch::kLlama;
  } else if (arch == "qwen2") {
    spec.arch = ModelArch::kQwen2;
  } else if (arch == "qwen3") {
    spec.arch = ModelArch::kQwen3;
  } else {
    std::cerr << "--arch must be llama, qwen2 or qwen3\n";
    return 2;
  }
  const std::string type = Lower(absl::GetFlag(FLAGS_type));
  bool found = false;
  for (TensorType t : kAllTensorTypes) {
    if (Lower(std::string(TensorTypeName(t))) == type) {
      spec.type = t;
      found = true;
    }
  }
  if (!found) {
    std::cerr << "unknown --type " << type << "\n";
    return 2;
  }
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
