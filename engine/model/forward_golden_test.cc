// Golden tests: greedy generation on the real stories260K model (F32 and Q8_0 weights, F32 and
// F16 KV) must reproduce llama.cpp's token ids exactly and its first-position logits closely.
#include <cmath>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "engine/kv_cache/block_table.h"
#include "engine/kv_cache/kv_pool.h"
#include "engine/model/forward.h"
#include "engine/model/model.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace baton::engine {
namespace {

struct GoldenCase {
  std::string model;
  KvDType kv;
  std::string golden;
  // Quantized weights: the kernels' activation rounding differs from ggml's (see below), so the
  // first-position logits agree to ~1e-1 rather than 1e-3.
  float logit_tolerance;
  // 0: generated ids must match exactly. Otherwise: after >= 4 identical tokens the sequences
  // may part where the two candidates' logits differ by less than this.
  float near_tie = 0.0f;
};

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, GreedyMatchesLlamaCpp) {
  const GoldenCase& gc = GetParam();
  auto model_path = baton::testing::SharedFile("models/" + gc.model);
  auto golden_path = baton::testing::SharedFile("models/golden/" + gc.golden);
  if (!model_path || !golden_path) GTEST_SKIP() << "shared models absent (BATON_SHARED_DIR)";
  std::ifstream in(*golden_path);
  const nlohmann::json golden = nlohmann::json::parse(in);

  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Model> model, Model::Load(*model_path));
  ForwardPass forward(model, nullptr);
  const int n_gen = golden["n_gen"].get<int>();
  ASSERT_GT(golden["cases"].size(), 0u);
  for (const auto& c : golden["cases"]) {
    SCOPED_TRACE(c["prompt"].get<std::string>());
    const std::vector<int32_t> prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> want = c["generated_ids"].get<std::vector<int32_t>>();
    ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(model->config().MakeKvLayout(gc.kv, 16), 64));
    BlockTable seq;
    ASSERT_OK(seq.Reserve(*pool, prompt.size() + n_gen));

    StepLogits logits;
    SequenceStep step{seq.blocks(), prompt, 0, LogitsMode::kLast};
    ASSERT_OK(forward.Run(*pool, {&step, 1}, &logits));
    seq.Advance(prompt.size());
    // Top-5 of the first position.
    std::span<const float> first = logits.Row(0);
    float max_diff = 0;
    for (const auto& top : c["top5_first"]) {
      max_diff = std::max(max_diff, std::fabs(first[top["id"].get<int>()] - top["logit"].get<float>()));
      EXPECT_NEAR(first[top["id"].get<int>()], top["logit"].get<float>(), gc.logit_tolerance)
          << "token " << top["id"];
    }
    std::cerr << gc.golden << ": top-5 first logits within " << max_diff << "\n";
    std::vector<int32_t> got;
    int diverged = 0;
    for (int i = 0; i < n_gen; ++i) {
      std::span<const float> row = logits.Row(0);
      const int32_t next =
          static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
      got.push_back(next);
      if (next != want[i]) {
        // Only for quantized weights: the kernels quantize activations to 8-bit blocks, so a
        // 1-ulp difference upstream (summation order) can flip one rounded activation and move
        // a logit by ~1e-2; and engine/kernels keeps the activation scale in f32 where ggml
        // rounds it to f16. Accept a divergence only at a near tie after an exact prefix.
        // (With ggml's exact activation rounding the first divergence was at token 37.)
        ASSERT_GT(gc.near_tie, 0.0f) << "step " << i << ": got " << next << ", want " << want[i];
        EXPECT_GE(i, 4) << "diverged too early";
        EXPECT_NEAR(row[want[i]], row[next], gc.near_tie)
            << "step " << i << ": got " << next << ", want " << want[i] << " (not a near tie)";
        ++diverged;
        break;
      }
      if (i + 1 == n_gen) break;
      SequenceStep decode{seq.blocks(), {&got.back(), 1}, seq.num_tokens(), LogitsMode::kLast};
      ASSERT_OK(forward.Run(*pool, {&decode, 1}, &logits));
      seq.Advance(1);
    }
    if (gc.near_tie == 0.0f) EXPECT_EQ(got, want);
    if (diverged > 0) std::cerr << "note: diverged at a near tie after " << got.size() - 1 << " tokens\n";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Stories, GoldenTest,
    ::testing::Values(GoldenCase{"stories260K.gguf", KvDType::kF32, "stories260K.f32.json", 1e-3f},
                      GoldenCase{"stories260K.gguf", KvDType::kF16, "stories260K.f32_kvf16.json",
                                 1e-3f},
                      GoldenCase{"stories260K-Q8_0.gguf", KvDType::kF32, "stories260K.q8_0.json",
                                 0.15f, 0.1f}));

}  // namespace
}  // namespace baton::engine
