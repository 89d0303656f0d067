#include <cstdlib>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "engine/model/random_model.h"
#include "engine/model/model.h"
#include "engine/tools/bench_tool.h"
#include "engine/tools/decode_traffic.h"
#include "engine/tools/flag_values.h"
#include "engine/tools/generate_tool.h"
#include "engine/tools/process_memory.h"
#include "engine/tools/read_bandwidth.h"
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

TEST(FlagValuesTest, ParseTensorTypeAndOverrides) {
  EXPECT_EQ(*ParseTensorType("Q6_K"), TensorType::kQ6_K);
  EXPECT_EQ(*ParseTensorType("q4_0"), TensorType::kQ4_0);
  EXPECT_THAT(ParseTensorType("q9").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto o, ParseTypeOverrides("token_embd.weight=q6_k, attn_v.weight=Q8_0"));
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o[0].first, "token_embd.weight");
  EXPECT_EQ(o[0].second, TensorType::kQ6_K);
  EXPECT_EQ(o[1].first, "attn_v.weight");
  EXPECT_EQ(o[1].second, TensorType::kQ8_0);
  EXPECT_TRUE(ParseTypeOverrides("")->empty());
  EXPECT_THAT(ParseTypeOverrides("token_embd.weight").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTypeOverrides("=q4_0").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTypeOverrides("x=q9").status(), StatusIs(absl::StatusCode::kInvalidArgument));
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

TEST(BenchToolTest, BatchedDecodeReportsAggregateFigures) {
  const std::string path = TempPath("tiny_batched_q8_0.gguf");
  RandomModelSpec spec;
  spec.type = TensorType::kQ8_0;
  ASSERT_OK(WriteRandomModel(spec, path));
  BenchOptions bo;
  bo.model_path = path;
  bo.n_prompt = 8;
  bo.n_gen = 4;
  bo.batch = 3;
  bo.repetitions = 2;
  bo.bound_bytes_per_second = 50e9;
  ASSERT_OK_AND_ASSIGN(BenchResult r, RunBench(bo));
  EXPECT_GT(r.pp.mean_tokens_per_second, 0);
  EXPECT_GT(r.tg.mean_tokens_per_second, 0);
  EXPECT_GT(r.file_bytes, 0);
  EXPECT_GT(r.peak_resident_bytes, 0);
  const std::string text = FormatBench(bo, r);
  EXPECT_NE(text.find("| S_PP t/s | S_TG t/s |"), std::string::npos) << text;
  EXPECT_NE(text.find("| 8 | 4 | 3 |"), std::string::npos) << text;
  EXPECT_NE(text.find("resident: peak"), std::string::npos) << text;
  EXPECT_NE(text.find("% of 50.0 GB/s"), std::string::npos) << text;

  bo.batch = -1;
  EXPECT_THAT(RunBench(bo), StatusIs(absl::StatusCode::kInvalidArgument));
  bo.batch = 2;
  bo.n_prompt = 0;
  bo.n_gen = 0;
  EXPECT_THAT(RunBench(bo), StatusIs(absl::StatusCode::kInvalidArgument));
  // Decode only (no prompt step) is a valid batched run.
  bo.n_gen = 3;
  ASSERT_OK_AND_ASSIGN(BenchResult decode_only, RunBench(bo));
  EXPECT_GT(decode_only.tg.mean_tokens_per_second, 0);
  EXPECT_EQ(decode_only.pp.mean_tokens_per_second, 0);
}

TEST(BenchToolTest, DecodeBandwidthDividesAggregateRateByBatch) {
  // One step reads the weights once for all `batch` sequences.
  EXPECT_DOUBLE_EQ(DecodeBandwidth(1000, 10, 1), 10000);
  EXPECT_DOUBLE_EQ(DecodeBandwidth(1000, 10, 2), 5000);
}

TEST(DecodeTrafficTest, CountsEveryMatrixOnceAndOneEmbeddingRow) {
  const std::string path = TempPath("tiny_traffic_q4_0.gguf");
  RandomModelSpec spec;  // 256 embd, 2 layers, 4/2 heads (head dim 64), 512 ff, 512 vocab, tied
  spec.type = TensorType::kQ4_0;
  ASSERT_OK(WriteRandomModel(spec, path));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Model> model, Model::Load(path));
  const int64_t row256 = RowBytes(TensorType::kQ4_0, 256);
  const int64_t row512 = RowBytes(TensorType::kQ4_0, 512);
  // Per layer: q 256 + k 128 + v 128 + o 256 + gate 512 + up 512 rows of 256, down 256 rows of
  // 512; then the tied output (512 rows of 256) and one embedding row.
  const int64_t per_layer = (256 + 128 + 128 + 256 + 512 + 512) * row256 + 256 * row512;
  EXPECT_EQ(DecodeWeightBytesPerToken(*model), 2 * per_layer + 512 * row256 + row256);
}

TEST(ProcessMemoryTest, ParsesStatusLines) {
  ASSERT_OK_AND_ASSIGN(
      ProcessMemory m,
      ParseProcessStatus("Name:\tbench\nVmHWM:\t  2048 kB\nVmRSS:\t    1024 kB\nThreads: 3\n"));
  EXPECT_EQ(m.peak_resident_bytes, 2048 * 1024);
  EXPECT_EQ(m.resident_bytes, 1024 * 1024);
  EXPECT_THAT(ParseProcessStatus("VmRSS:\t1 kB\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseProcessStatus("VmHWM: 1 MB\nVmRSS: 1 kB\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(ProcessMemory self, ReadProcessMemory());
  EXPECT_GT(self.resident_bytes, 0);
  EXPECT_GE(self.peak_resident_bytes, self.resident_bytes);
}

TEST(ReadBandwidthTest, MeasuresAndRejectsBadOptions) {
  ReadBandwidthOptions o;
  o.buffer_bytes = 8 << 20;
  o.threads = 2;
  o.repetitions = 2;
  ASSERT_OK_AND_ASSIGN(ReadBandwidth bw, MeasureReadBandwidth(o));
  EXPECT_GT(bw.best_bytes_per_second, 0);
  EXPECT_GT(bw.checksum, 0);
  o.threads = 0;
  EXPECT_THAT(MeasureReadBandwidth(o).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  o.threads = 1;
  o.buffer_bytes = 100;
  EXPECT_THAT(MeasureReadBandwidth(o).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::engine::tools
