// Golden tests per architecture: small random-weight F32 models of llama (Llama 3 rope factors),
// qwen2, gemma2 and phi3 from ../shared/models/arch, with llama.cpp's greedy generations. With
// an F32 KV cache the engine must pick llama.cpp's token at every step where llama.cpp's top-1
// margin exceeds 1e-3 (each step is fed llama.cpp's token, so one near-tie cannot derail the
// rest), and its logits must stay close to llama.cpp's.
#include <algorithm>
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

constexpr double kMinMargin = 1e-3;
// |ours - llama.cpp's| over every logit of the first generated position, and over the top-1
// logit of each later step. llama.cpp's GELU goes through an f16 table, so gemma2 gets more.
struct ArchCase {
  std::string name;  // <name>-tiny.gguf and <name>-tiny.f32.json
  ModelArch arch;
  float logit_tolerance;
};

class ArchGoldenTest : public ::testing::TestWithParam<ArchCase> {};

TEST_P(ArchGoldenTest, GreedyMatchesLlamaCpp) {
  const ArchCase& ac = GetParam();
  auto model_path = baton::testing::SharedFile("models/arch/" + ac.name + "-tiny.gguf");
  auto golden_path = baton::testing::SharedFile("models/arch/" + ac.name + "-tiny.f32.json");
  if (!model_path || !golden_path) {
    GTEST_SKIP() << "models/arch/" << ac.name << "-tiny.* absent (set BATON_SHARED_DIR)";
  }
  std::ifstream in(*golden_path);
  const nlohmann::json golden = nlohmann::json::parse(in);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Model> model, Model::Load(*model_path));
  EXPECT_EQ(model->config().arch, ac.arch);
  ForwardPass forward(model, nullptr);
  const int n_gen = golden["n_gen"].get<int>();
  ASSERT_EQ(golden["cases"].size(), 3u);
  for (const auto& c : golden["cases"]) {
    const std::vector<int32_t> prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    SCOPED_TRACE("prompt of " + std::to_string(prompt.size()) + " tokens");
    const std::vector<int32_t> want = c["generated_ids"].get<std::vector<int32_t>>();
    const std::vector<double> margins = c["margins"].get<std::vector<double>>();
    const std::vector<float> first_logits = c["first_logits"].get<std::vector<float>>();
    const std::vector<float> top1 = c["generated_top1_logits"].get<std::vector<float>>();
    ASSERT_EQ(want.size(), static_cast<size_t>(n_gen));
    ASSERT_OK_AND_ASSIGN(auto pool,
                         KvPool::Create(model->config().MakeKvLayout(KvDType::kF32, 16), 16));
    BlockTable seq;
    ASSERT_OK(seq.Reserve(*pool, prompt.size() + n_gen));

    StepLogits logits;
    SequenceStep step{seq.blocks(), prompt, 0, LogitsMode::kLast};
    ASSERT_OK(forward.Run(*pool, {&step, 1}, &logits));
    seq.Advance(prompt.size());
    std::span<const float> first = logits.Row(0);
    ASSERT_EQ(first.size(), first_logits.size());
    float max_first = 0;
    for (size_t i = 0; i < first.size(); ++i) {
      max_first = std::max(max_first, std::fabs(first[i] - first_logits[i]));
    }
    EXPECT_LE(max_first, ac.logit_tolerance);
    float max_top1 = 0;
    int compared = 0;
    for (int i = 0; i < n_gen; ++i) {
      std::span<const float> row = logits.Row(0);
      const int32_t next =
          static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
      if (margins[i] > kMinMargin) {
        EXPECT_EQ(next, want[i]) << "step " << i << ", llama.cpp's margin " << margins[i];
        ++compared;
      }
      max_top1 = std::max(max_top1, std::fabs(row[want[i]] - top1[i]));
      if (i + 1 == n_gen) break;
      SequenceStep decode{seq.blocks(), {&want[i], 1}, seq.num_tokens(), LogitsMode::kLast};
      ASSERT_OK(forward.Run(*pool, {&decode, 1}, &logits));
      seq.Advance(1);
    }
    EXPECT_LE(max_top1, ac.logit_tolerance);
    EXPECT_GT(compared, 0);
    std::cerr << ac.name << " prompt " << prompt.size() << ": " << compared
              << " steps compared, first logits within " << max_first
              << ", top-1 logits within " << max_top1 << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Arch, ArchGoldenTest,
    ::testing::Values(ArchCase{"llama", ModelArch::kLlama, 1e-3f},
                      ArchCase{"qwen2", ModelArch::kQwen2, 1e-3f},
                      ArchCase{"gemma2", ModelArch::kGemma2, 2e-2f},
                      ArchCase{"phi3", ModelArch::kPhi3, 1e-3f}),
    [](const ::testing::TestParamInfo<ArchCase>& info) { return info.param.name; });

}  // namespace
}  // namespace baton::engine
