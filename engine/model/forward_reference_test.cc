// ForwardPass (batched, paged KV, SIMD ops, engine kernels) against the plain transformer of
// engine/model/testing on random F32 models, one case per architecture of the table and per
// rope/attention feature (Llama 3 factors from the tensor and from keys, YaRN, Mistral's window,
// Gemma 2/3 soft-capping and windows, Phi-3 LongRoPE).
#include <string>

#include "common/status_matchers.h"
#include "engine/gguf/gguf_file.h"
#include "engine/model/model.h"
#include "engine/model/random_model.h"
#include "engine/model/testing/reference_forward.h"
#include "gtest/gtest.h"

namespace baton::engine {
namespace {

struct ReferenceCase {
  std::string name;
  RandomModelSpec spec;
  double tolerance = 2e-4;
};

RandomModelSpec Base(ModelArch arch) {
  RandomModelSpec spec;
  spec.arch = arch;
  spec.n_embd = 64;
  spec.n_heads = 4;
  spec.n_kv_heads = 2;
  spec.n_ff = 96;
  spec.vocab_size = 300;
  spec.weight_std = 0.2f;  // large enough that attention is far from uniform
  spec.tied_output = arch != ModelArch::kQwen2;
  return spec;
}

std::vector<ReferenceCase> Cases() {
  std::vector<ReferenceCase> cases;
  for (const ArchSpec& arch : AllArchs()) {
    cases.push_back({arch.name, Base(arch.arch)});
  }
  for (ReferenceCase& c : cases) {
    RandomModelSpec& s = c.spec;
    switch (s.arch) {
      case ModelArch::kGemma2:
        s.head_dim = 32;  // q width 128 while n_embd is 64, as Gemma 2 has
        s.attn_softcap = 1.5f;  // low enough that tanh bends the scores
        s.final_softcap = 3.0f;
        s.sliding_window = 4;  // even layers; the 11 tokens reach past it
        c.tolerance = 2e-3;     // f16-rounded GELU amplifies last-bit differences
        break;
      case ModelArch::kGemma3:
        s.n_layers = 6;  // layers 0-4 local with rope base 10000, layer 5 global
        s.sliding_window = 4;
        s.rope_base = 1e6f;
        c.tolerance = 2e-3;
        break;
      case ModelArch::kPhi3:
        s.long_rope_factors = true;
        s.context_length = 512;
        s.rope_orig_context = 256;  // context beyond the original: the long factors apply
        s.sliding_window = 5;
        break;
      default:
        break;
    }
  }
  ReferenceCase llama3{"llama3_rope_freqs", Base(ModelArch::kLlama)};
  llama3.spec.rope_freqs = true;
  llama3.spec.rope_base = 500000.0f;
  cases.push_back(llama3);
  ReferenceCase llama3_keys{"llama3_scaling_keys", Base(ModelArch::kLlama)};
  llama3_keys.spec.rope_scaling = "llama3";
  llama3_keys.spec.rope_scaling_factor = 8.0f;
  llama3_keys.spec.rope_orig_context = 64;  // puts the head's wavelengths on both sides
  cases.push_back(llama3_keys);
  ReferenceCase mistral{"mistral_sliding_window", Base(ModelArch::kLlama)};
  mistral.spec.sliding_window = 3;
  cases.push_back(mistral);
  ReferenceCase yarn{"qwen2_yarn", Base(ModelArch::kQwen2)};
  yarn.spec.rope_scaling = "yarn";
  yarn.spec.rope_scaling_factor = 4.0f;
  yarn.spec.rope_orig_context = 32;
  cases.push_back(yarn);
  ReferenceCase linear{"qwen3_linear", Base(ModelArch::kQwen3)};
  linear.spec.rope_scaling = "linear";
  linear.spec.rope_scaling_factor = 2.0f;
  cases.push_back(linear);
  return cases;
}

class ForwardReferenceTest : public ::testing::TestWithParam<ReferenceCase> {};

TEST_P(ForwardReferenceTest, MatchesPlainTransformer) {
  const ReferenceCase& rc = GetParam();
  ASSERT_OK_AND_ASSIGN(std::string bytes, BuildRandomModel(rc.spec));
  ASSERT_OK_AND_ASSIGN(auto file, gguf::GgufFile::FromBuffer(bytes));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Model> model, Model::FromGguf(std::move(file)));
  const ModelConfig& c = model->config();
  ASSERT_EQ(c.arch, rc.spec.arch);
  // The features the case sets reached the config (so the comparison exercises them).
  EXPECT_EQ(c.sliding_window, rc.spec.sliding_window);
  if (rc.spec.attn_softcap > 0) {
    EXPECT_EQ(c.attn_softcap, rc.spec.attn_softcap);
  }
  if (rc.spec.head_dim > 0) {
    EXPECT_EQ(c.head_dim, rc.spec.head_dim);
  }
  if (rc.spec.rope_freqs || rc.spec.long_rope_factors || rc.spec.rope_scaling == "llama3") {
    EXPECT_EQ(model->rope_freq_factors().size(), static_cast<size_t>(c.rope_dim / 2));
  }
  testing::ExpectForwardMatchesReference(model, rc.tolerance);
}

INSTANTIATE_TEST_SUITE_P(Archs, ForwardReferenceTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace baton::engine
