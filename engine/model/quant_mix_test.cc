// Models in llama.cpp-style mixed quantizations (Q4_K_M: Q4_K with Q6_K for attn_v, ffn_down and
// output, F32 norms; a Q3_K/Q5_K mix the same way) load, and greedy generation on them stays
// within a stated tolerance of their dequantized F32 twins, on every kernel family this CPU has.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/status_macros.h"
#include "common/status_matchers.h"
#include "engine/gguf/gguf_file.h"
#include "engine/kernels/cpu/matmul.h"
#include "engine/kv_cache/block_table.h"
#include "engine/kv_cache/kv_pool.h"
#include "engine/model/forward.h"
#include "engine/model/model.h"
#include "engine/model/random_model.h"
#include "gtest/gtest.h"

namespace baton::engine {
namespace {

struct MixCase {
  std::string mix;
  TensorType base;  // most 2-D weights
  TensorType wide;  // attn_v, ffn_down, output
};

class QuantMixTest : public ::testing::TestWithParam<MixCase> {
 protected:
  void TearDown() override { kernels::SetForceScalarKernels(false); }
};

RandomModelSpec MixSpec(const std::string& mix) {
  RandomModelSpec spec;  // 256 embd, 2 layers, 512 ff, 512 vocab: whole 256-element blocks
  spec.tied_output = false;
  spec.weight_std = 0.05f;  // logits spread well beyond the quantization error
  spec.seed = 11;
  EXPECT_OK(ApplyQuantMix(mix, &spec));
  return spec;
}

absl::StatusOr<std::shared_ptr<const Model>> Load(const RandomModelSpec& spec) {
  ASSIGN_OR_RETURN(std::string bytes, BuildRandomModel(spec));
  ASSIGN_OR_RETURN(auto file, gguf::GgufFile::FromBuffer(bytes));
  return Model::FromGguf(std::move(file));
}

// Logits of every position of `tokens` in one prefill step (F32 KV).
std::vector<std::vector<float>> AllLogits(const std::shared_ptr<const Model>& model,
                                          const std::vector<int32_t>& tokens) {
  auto pool = KvPool::Create(model->config().MakeKvLayout(KvDType::kF32, 16), 8);
  EXPECT_OK(pool.status());
  BlockTable seq;
  EXPECT_OK(seq.Reserve(**pool, tokens.size()));
  ForwardPass forward(model, nullptr);
  StepLogits logits;
  SequenceStep step{seq.blocks(), tokens, 0, LogitsMode::kAll};
  EXPECT_OK(forward.Run(**pool, {&step, 1}, &logits));
  std::vector<std::vector<float>> rows;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::span<const float> row = logits.Row(0, i);
    rows.emplace_back(row.begin(), row.end());
  }
  return rows;
}

// Greedy continuation of `prompt` by `n` tokens, one decode step at a time.
std::vector<int32_t> Generate(const std::shared_ptr<const Model>& model,
                              const std::vector<int32_t>& prompt, int n) {
  auto pool = KvPool::Create(model->config().MakeKvLayout(KvDType::kF32, 16), 8);
  EXPECT_OK(pool.status());
  BlockTable seq;
  EXPECT_OK(seq.Reserve(**pool, prompt.size() + n));
  ForwardPass forward(model, nullptr);
  StepLogits logits;
  SequenceStep step{seq.blocks(), prompt, 0, LogitsMode::kLast};
  EXPECT_OK(forward.Run(**pool, {&step, 1}, &logits));
  seq.Advance(prompt.size());
  std::vector<int32_t> tokens = prompt;
  for (int i = 0; i < n; ++i) {
    std::span<const float> row = logits.Row(0);
    tokens.push_back(static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin()));
    if (i + 1 == n) break;
    SequenceStep decode{seq.blocks(), {&tokens.back(), 1}, seq.num_tokens(), LogitsMode::kLast};
    EXPECT_OK(forward.Run(**pool, {&decode, 1}, &logits));
    seq.Advance(1);
  }
  return tokens;
}

TEST_P(QuantMixTest, LoadsWithEachTensorsType) {
  ASSERT_OK_AND_ASSIGN(std::string bytes, BuildRandomModel(MixSpec(GetParam().mix)));
  ASSERT_OK_AND_ASSIGN(auto file, gguf::GgufFile::FromBuffer(bytes));
  const auto type_of = [&](const std::string& name) {
    const gguf::TensorInfo* t = file->FindTensor(name);
    EXPECT_NE(t, nullptr) << name;
    return t == nullptr ? TensorType::kF32 : t->type;
  };
  EXPECT_EQ(type_of("token_embd.weight"), GetParam().base);
  EXPECT_EQ(type_of("blk.1.attn_q.weight"), GetParam().base);
  EXPECT_EQ(type_of("blk.1.ffn_up.weight"), GetParam().base);
  EXPECT_EQ(type_of("blk.0.attn_v.weight"), GetParam().wide);
  EXPECT_EQ(type_of("blk.1.ffn_down.weight"), GetParam().wide);
  EXPECT_EQ(type_of("output.weight"), GetParam().wide);
  EXPECT_EQ(type_of("blk.0.attn_norm.weight"), TensorType::kF32);
  EXPECT_EQ(type_of("output_norm.weight"), TensorType::kF32);
  ASSERT_OK_AND_ASSIGN(auto model, Model::FromGguf(std::move(file)));
  EXPECT_EQ(model->output().type, GetParam().wide);
}

// The quantized kernels quantize activations to 8 bits (one scale per 32 or 256 values), as
// ggml does, so logits move by a few percent of their range through the layers. Bound: every
// logit within 5% of the largest |logit| of the F32 twin at its position (measured on AVX2:
// 3.4% for q4_k_m, 3.2% for q3_k_m; the scalar family dequantizes rows and matches exactly).
// Greedy generation must equal the F32 twin's up to the first position whose F32 top-1 margin is
// within twice the bound (a near tie either way may break).
TEST_P(QuantMixTest, GeneratesWithinToleranceOfDequantizedF32) {
  constexpr float kBound = 0.05f;
  RandomModelSpec spec = MixSpec(GetParam().mix);
  ASSERT_OK_AND_ASSIGN(auto quantized, Load(spec));
  spec.dequantize_to_f32 = true;
  ASSERT_OK_AND_ASSIGN(auto twin, Load(spec));
  ASSERT_EQ(twin->output().type, TensorType::kF32);
  const std::vector<int32_t> prompt = {1, 17, 250, 3, 99, 42, 301};
  constexpr int kGenerate = 12;
  for (kernels::KernelVariant v : kernels::kAllKernelVariants) {
    if (!kernels::CpuSupportsKernelVariant(v)) {
      std::printf("%s: skipped %s (this CPU lacks its features)\n", GetParam().mix.c_str(),
                  kernels::KernelVariantName(v));
      continue;
    }
    SCOPED_TRACE(kernels::KernelVariantName(v));
    kernels::SetMaxKernelVariant(v);
    const std::vector<int32_t> tokens = Generate(quantized, prompt, kGenerate);
    const std::vector<int32_t> twin_tokens = Generate(twin, prompt, kGenerate);
    ASSERT_EQ(tokens.size(), prompt.size() + kGenerate);
    // Both models over the quantized model's sequence, every position.
    const auto got = AllLogits(quantized, tokens);
    const auto want = AllLogits(twin, tokens);
    double worst_rel = 0;
    std::vector<float> bound(tokens.size());
    for (size_t pos = 0; pos < tokens.size(); ++pos) {
      float amax = 0;
      for (float l : want[pos]) amax = std::max(amax, std::fabs(l));
      bound[pos] = kBound * amax;
      for (size_t i = 0; i < want[pos].size(); ++i) {
        ASSERT_NEAR(got[pos][i], want[pos][i], bound[pos]) << "pos " << pos << " token " << i;
        worst_rel = std::max(worst_rel, std::fabs(got[pos][i] - want[pos][i]) / double{amax});
      }
    }
    // Up to the first difference both sequences share their prefix, so `want` holds the twin's
    // own logits there.
    size_t same = prompt.size();
    while (same < tokens.size() && tokens[same] == twin_tokens[same]) ++same;
    if (same < tokens.size()) {
      std::vector<float> sorted = want[same - 1];
      std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
      EXPECT_LE(sorted[0] - sorted[1], 2 * bound[same - 1])
          << "greedy token " << same << " differs (" << tokens[same] << " vs F32 "
          << twin_tokens[same] << ") though the F32 margin is wide";
    }
    std::printf("%s on %s: logits within %.4f of max |logit|; %zu of %d greedy tokens equal "
                "before the first difference\n",
                GetParam().mix.c_str(), kernels::KernelVariantName(v), worst_rel,
                same - prompt.size(), kGenerate);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Mixes, QuantMixTest,
    ::testing::Values(MixCase{"q4_k_m", TensorType::kQ4_K, TensorType::kQ6_K},
                      MixCase{"q3_k_m", TensorType::kQ3_K, TensorType::kQ5_K}),
    [](const auto& info) { return info.param.mix; });

}  // namespace
}  // namespace baton::engine
