// Greedy output through prefill worker -> UCX -> decode worker (and colocated on the decode
// worker) equals //engine/tools:generate token for token: stories260K F32 and Q8_0 on the golden
// prompts (skipped without /work/shared), and a random Q4_0 model from make_model.
#include <fstream>
#include <sstream>

#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/cluster.h"

namespace baton::testing {
namespace {

constexpr int32_t kGoldenTokens = 64;

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, false);
}

// prompt_ids of every case in a golden file.
std::vector<std::vector<int32_t>> GoldenPrompts(const std::string& path) {
  nlohmann::json json = ReadJson(path);
  std::vector<std::vector<int32_t>> prompts;
  if (json.is_discarded()) return prompts;
  for (const auto& c : json["cases"]) {
    prompts.push_back(c["prompt_ids"].get<std::vector<int32_t>>());
  }
  return prompts;
}

// Runs every prompt disaggregated and colocated and compares both with generate's output.
void ExpectMatchesGenerate(const std::string& model,
                           const std::vector<std::vector<int32_t>>& prompts, int32_t max_tokens,
                           std::vector<std::string> ucx_env = {}) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Cluster> cluster,
                       Cluster::Start({.model_path = model,
                                       .decode_flags = {"--prefill_chunk=8"},
                                       .prefill_flags = {"--max_batch_tokens=8"},
                                       .ucx_env = std::move(ucx_env)}));
  for (const std::vector<int32_t>& prompt : prompts) {
    ASSERT_OK_AND_ASSIGN(std::vector<int32_t> expected,
                         GenerateReference(model, prompt, max_tokens));
    ASSERT_EQ(expected.size(), static_cast<size_t>(max_tokens));
    ASSERT_OK_AND_ASSIGN(router::DisaggResult remote,
                         cluster->client().Generate(GreedyRequest(prompt, max_tokens)));
    EXPECT_EQ(remote.tokens, expected) << "disaggregated, prompt of " << prompt.size();
    EXPECT_EQ(remote.finished.finish_reason(), baton::v1::FINISH_REASON_LENGTH);
    EXPECT_GT(remote.prefill.kv_bytes(), 0u);
    ASSERT_OK_AND_ASSIGN(router::DisaggResult local,
                         cluster->client().Generate(GreedyRequest(prompt, max_tokens, true)));
    EXPECT_EQ(local.tokens, expected) << "colocated, prompt of " << prompt.size();
  }
  EXPECT_OK(cluster->WaitDecodeIdle());
}

TEST(DisaggGoldenTest, Stories260KF32) {
  auto model = SharedFile("models/stories260K.gguf");
  auto golden = SharedFile("models/golden/stories260K.f32.json");
  if (!model || !golden) GTEST_SKIP() << "stories260K not found under BATON_SHARED_DIR";
  ExpectMatchesGenerate(*model, GoldenPrompts(*golden), kGoldenTokens);
  // F32 weights and F32 KV reproduce the recorded reference ids exactly, end to end.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Cluster> cluster, Cluster::Start({.model_path = *model}));
  for (const auto& c : ReadJson(*golden)["cases"]) {
    ASSERT_OK_AND_ASSIGN(router::DisaggResult result,
                         cluster->client().Generate(GreedyRequest(
                             c["prompt_ids"].get<std::vector<int32_t>>(), kGoldenTokens)));
    EXPECT_EQ(result.tokens, c["generated_ids"].get<std::vector<int32_t>>());
  }
}

TEST(DisaggGoldenTest, Stories260KQ8_0) {
  auto model = SharedFile("models/stories260K-Q8_0.gguf");
  auto golden = SharedFile("models/golden/stories260K.q8_0.json");
  if (!model || !golden) GTEST_SKIP() << "stories260K-Q8_0 not found under BATON_SHARED_DIR";
  ExpectMatchesGenerate(*model, GoldenPrompts(*golden), kGoldenTokens);
}

TEST(DisaggGoldenTest, RandomQ4_0) {
  ASSERT_OK_AND_ASSIGN(std::string model, MakeRandomModel("q4_0", 7));
  ExpectMatchesGenerate(
      model, {SyntheticPrompt(5, 1), SyntheticPrompt(17, 2), SyntheticPrompt(40, 3)}, 32);
}

// The same over UCX shared memory (posix + cma) instead of tcp.
TEST(DisaggGoldenTest, RandomQ4_0OverSharedMemory) {
  ASSERT_OK_AND_ASSIGN(std::string model, MakeRandomModel("q4_0", 8));
  ExpectMatchesGenerate(model, {SyntheticPrompt(9, 4), SyntheticPrompt(50, 5)}, 16,
                        {"UCX_TLS=posix,cma,self", "UCX_WARN_UNUSED_ENV_VARS=n"});
}

// With UCX's default transport set, as deploy/local/run.sh runs the workers (both on this host:
// messages over tcp, the KV copied into the decode worker's pool through the prefill worker's
// mapping).
TEST(DisaggGoldenTest, RandomQ4_0WithUcxDefaults) {
  ASSERT_OK_AND_ASSIGN(std::string model, MakeRandomModel("q4_0", 9));
  ExpectMatchesGenerate(model, {SyntheticPrompt(12, 6), SyntheticPrompt(70, 7)}, 16,
                        {"UCX_TLS=all", "UCX_NET_DEVICES=lo", "UCX_WARN_UNUSED_ENV_VARS=n"});
}

}  // namespace
}  // namespace baton::testing
