// Greedy text of stories260K through every front end of the router, each driven by its
// third-party client (OpenAI completions with the OpenAI SDK, Ollama generate with the Ollama
// client, gRPC Generate with python3-grpcio), equals the single-process reference
// (//engine/tools:generate --prompt) and the recorded golden text, for every golden prompt.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/stories_router_test.h"
#include "tests/worker_process.h"

namespace baton::testing {
namespace {

using Json = nlohmann::json;

class RouterGoldenTextTest : public StoriesRouterTest {
 protected:
  static void SetUpTestSuite() { StartRouter({}); }
  static void TearDownTestSuite() { StopRouter(); }
};

// //engine/tools:generate's greedy text for `prompt` (f32 KV, as the workers run it).
absl::StatusOr<std::string> ReferenceText(const std::string& model, const std::string& prompt,
                                          int32_t max_tokens) {
  absl::StatusOr<std::string> out =
      RunTool(RunfilePath("engine/tools/generate"),
              {absl::StrCat("--model=", model), absl::StrCat("--prompt=", prompt),
               absl::StrCat("--max_tokens=", max_tokens), "--temperature=0", "--kv_type=f32"});
  if (!out.ok()) return out.status();
  const Json json = Json::parse(*out, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.contains("text")) {
    return absl::InternalError(absl::StrCat("unexpected generate output: ", *out));
  }
  return json["text"].get<std::string>();
}

TEST_F(RouterGoldenTextTest, EveryFrontEndMatchesTheReference) {
  const int32_t max_tokens = golden().generated_tokens;
  Json openai_calls = Json::array();
  Json ollama_calls = Json::array();
  Json grpc_calls = Json::array();
  for (const GoldenCase& golden_case : golden().cases) {
    const Json completion = {{"model", kStoriesModel},
                             {"prompt", golden_case.prompt},
                             {"max_tokens", max_tokens},
                             {"temperature", 0}};
    Json streamed = completion;
    streamed["stream"] = true;
    openai_calls.push_back({{"api", "completions"}, {"params", completion}});
    openai_calls.push_back({{"api", "completions"}, {"params", streamed}});
    ollama_calls.push_back({{"api", "generate"},
                            {"params",
                             {{"model", kStoriesModel},
                              {"prompt", golden_case.prompt},
                              {"stream", false},
                              {"options", {{"temperature", 0}, {"num_predict", max_tokens}}}}}});
    grpc_calls.push_back({{"rpc", "Generate"},
                          {"request",
                           {{"text", golden_case.prompt},
                            {"sampling", {{"temperature", 0}, {"max_tokens", max_tokens}}}}}});
  }
  ASSERT_OK_AND_ASSIGN(Json openai, OpenAi(openai_calls));
  ASSERT_OK_AND_ASSIGN(Json ollama, Ollama(ollama_calls));
  ASSERT_OK_AND_ASSIGN(Json grpc, Grpc(grpc_calls));

  for (size_t i = 0; i < golden().cases.size(); ++i) {
    const GoldenCase& golden_case = golden().cases[i];
    SCOPED_TRACE(golden_case.prompt);
    ASSERT_OK_AND_ASSIGN(std::string reference,
                         ReferenceText(golden().model_path, golden_case.prompt, max_tokens));
    // generate prints the prompt's continuation only; the golden file's is the same text.
    EXPECT_EQ(reference, golden_case.generated_text);
    for (const Json* result : {&openai[2 * i], &openai[2 * i + 1], &ollama[i], &grpc[i]}) {
      ASSERT_TRUE(CallOk(*result));
      EXPECT_EQ((*result)["ok"]["text"], reference) << result->dump();
    }
  }
  EXPECT_OK(router().WaitWorkersIdle());
}

}  // namespace
}  // namespace baton::testing
