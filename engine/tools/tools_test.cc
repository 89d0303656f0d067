#include <cstdlib>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "engine/model/random_model.h"
#include "engine/tools/bench_tool.h"
#include "engine/tools/flag_values.h"
#include "engine/tools/generate_tool.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace baton::engine::tools {
namespace {

using ::baton::testing::StatusIs;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

TEST(FlagValuesTest, ParseKvDType) {
  EXPECT_EQ(*ParseKvDType("f16"), KvDType::kF16);
  EXPECT_EQ(*ParseKvDType("f32"), KvDType::kF32);
  EXPECT_THAT(ParseKvDType("q8").status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FlagValuesTest, ParseTokenList) {
  ASSERT_OK_AND_ASSIGN(auto ids, ParseTokenList("1, 403,407"));
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 403, 407}));
  EXPECT_THAT(ParseTokenList("").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTokenList("1,x").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTokenList("-3").status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(GenerateToolTest, StoriesGreedyText) {
  auto model = baton::testing::SharedFile("models/stories260K.gguf");
  if (!model) GTEST_SKIP() << "shared models absent (BATON_SHARED_DIR)";
  GenerateToolOptions o;
  o.model_path = *model;
  o.prompt_tokens = {1, 403, 407, 261, 378};
  o.max_tokens = 8;
  o.sampling.temperature = 0;
  o.kv_dtype = KvDType::kF32;
  ASSERT_OK_AND_ASSIGN(std::string text, RunGenerateTool(o));
  const nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["tokens"].get<std::vector<int32_t>>(),
            (std::vector<int32_t>{432, 383, 286, 261, 376, 298, 315, 421}));
  EXPECT_EQ(j["text"].get<std::string>(), ", there was a little girl");
  EXPECT_GT(j["decode_tokens_per_second"].get<double>(), 0);

  // The same prompt as text goes through the model's tokenizer to the same ids and output.
  o.prompt_tokens.clear();
  o.prompt_text = "Once upon a time";
  ASSERT_OK_AND_ASSIGN(std::string from_text, RunGenerateTool(o));
  const nlohmann::json t = nlohmann::json::parse(from_text);
  EXPECT_EQ(t["prompt_tokens"].get<std::vector<int32_t>>(),
            (std::vector<int32_t>{1, 403, 407, 261, 378}));
  EXPECT_EQ(t["tokens"], j["tokens"]);
  EXPECT_EQ(t["text"].get<std::string>(), ", there was a little girl");

  // Both or neither prompt form is a usage error.
  o.prompt_tokens = {1};
  EXPECT_THAT(RunGenerateTool(o), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ToolsTest, MadeModelGeneratesAndBenches) {
  const std::string path = TempPath("tiny_q4_0.gguf");
  RandomModelSpec spec;
  spec.type = TensorType::kQ4_0;
  ASSERT_OK(WriteRandomModel(spec, path));
  GenerateToolOptions o;
  o.model_path = path;
  o.prompt_tokens = {1, 300, 301};
  o.max_tokens = 4;
  o.sampling.temperature = 0.8f;
  o.sampling.seed = 3;
  o.threads = 2;
  ASSERT_OK_AND_ASSIGN(std::string a, RunGenerateTool(o));
  ASSERT_OK_AND_ASSIGN(std::string b, RunGenerateTool(o));
  EXPECT_EQ(nlohmann::json::parse(a)["tokens"], nlohmann::json::parse(b)["tokens"]);
  EXPECT_EQ(nlohmann::json::parse(a)["tokens"].size(), 4u);

  BenchOptions bo;
  bo.model_path = path;
  bo.n_prompt = 32;
  bo.n_gen = 8;
  bo.repetitions = 2;
  ASSERT_OK_AND_ASSIGN(BenchResult r, RunBench(bo));
  EXPECT_GT(r.pp.mean_tokens_per_second, 0);
  EXPECT_GT(r.tg.mean_tokens_per_second, 0);
  EXPECT_NE(FormatBench(bo, r).find("| pp32 |"), std::string::npos) << FormatBench(bo, r);

  o.model_path = TempPath("missing.gguf");
  EXPECT_FALSE(RunGenerateTool(o).ok());
}

}  // namespace
}  // namespace baton::engine::tools
