// The router's Ollama API through Ollama's official JavaScript client (ollama@0.6.4), in front
// of real workers on stories260K: generate and chat, streamed (NDJSON, the client's default)
// and whole, with Ollama's counts and done_reason; list, show, ps and version; an unknown model.
#include <string>

#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/stories_router_test.h"

namespace baton::testing {
namespace {

using Json = nlohmann::json;

class RouterOllamaClientTest : public StoriesRouterTest {
 protected:
  static void SetUpTestSuite() { StartRouter({}); }
  static void TearDownTestSuite() { StopRouter(); }
};

// Greedy options of Ollama's API: num_predict is its max_tokens.
Json GreedyOptions(int32_t num_predict) {
  return {{"temperature", 0}, {"num_predict", num_predict}};
}

TEST_F(RouterOllamaClientTest, GenerateWholeAndStreamedEqualTheGoldenText) {
  const GoldenCase& golden_case = golden().cases[2];
  const int32_t max_tokens = golden().generated_tokens;
  Json params = {{"model", kStoriesModel},
                 {"prompt", golden_case.prompt},
                 {"stream", false},
                 {"options", GreedyOptions(max_tokens)}};
  Json streamed = params;
  streamed["stream"] = true;
  ASSERT_OK_AND_ASSIGN(Json results,
                       Ollama(Json::array({{{"api", "generate"}, {"params", params}},
                                           {{"api", "generate"}, {"params", streamed}}})));
  ASSERT_OK_AND_ASSIGN(baton::v1::TokenizeResponse prompt,
                       router().Tokenize(golden_case.prompt, true));
  for (const Json& result : results) {
    ASSERT_TRUE(CallOk(result));
    const Json& ok = result["ok"];
    EXPECT_EQ(ok["text"], golden_case.generated_text);
    const Json& final = ok["final"];
    EXPECT_EQ(final["done"], true) << final.dump();
    EXPECT_EQ(final["done_reason"], "length") << final.dump();
    EXPECT_EQ(final["model"], kStoriesModel) << final.dump();
    EXPECT_EQ(final["prompt_eval_count"], prompt.token_ids_size()) << final.dump();
    EXPECT_EQ(final["eval_count"], max_tokens) << final.dump();
    EXPECT_GT(final["total_duration"].get<int64_t>(), 0) << final.dump();
  }
  EXPECT_GT(results[1]["ok"]["parts"], 2) << "a stream of " << max_tokens << " tokens in one part";
}

TEST_F(RouterOllamaClientTest, ChatWholeAndStreamedAgree) {
  constexpr int32_t kMaxTokens = 12;
  Json params = {{"model", kStoriesModel},
                 {"messages", Json::array({{{"role", "user"}, {"content", "Tell me a story."}}})},
                 {"stream", false},
                 {"options", GreedyOptions(kMaxTokens)}};
  Json streamed = params;
  streamed["stream"] = true;
  ASSERT_OK_AND_ASSIGN(Json results,
                       Ollama(Json::array({{{"api", "chat"}, {"params", params}},
                                           {{"api", "chat"}, {"params", streamed}}})));
  for (const Json& result : results) {
    ASSERT_TRUE(CallOk(result));
    EXPECT_EQ(result["ok"]["role"], "assistant") << result.dump();
    EXPECT_EQ(result["ok"]["final"]["done"], true) << result.dump();
  }
  const Json& whole = results[0]["ok"];
  const Json& stream = results[1]["ok"];
  EXPECT_FALSE(whole["text"].get<std::string>().empty());
  EXPECT_EQ(stream["text"], whole["text"]);
  EXPECT_EQ(stream["final"]["done_reason"], whole["final"]["done_reason"]);
  EXPECT_EQ(stream["final"]["eval_count"], whole["final"]["eval_count"]);
  EXPECT_LE(whole["final"]["eval_count"].get<int32_t>(), kMaxTokens);
  if (whole["final"]["done_reason"] == "length") {
    EXPECT_EQ(whole["final"]["eval_count"], kMaxTokens);
  }
}

TEST_F(RouterOllamaClientTest, ListShowPsAndVersionDescribeTheServedModel) {
  ASSERT_OK_AND_ASSIGN(
      Json results, Ollama(Json::array({{{"api", "list"}},
                                        {{"api", "show"}, {"params", {{"model", kStoriesModel}}}},
                                        {{"api", "ps"}},
                                        {{"api", "version"}}})));
  for (const Json& result : results) ASSERT_TRUE(CallOk(result));
  const Json& list = results[0]["ok"];
  ASSERT_EQ(list["models"].size(), 1u) << list.dump();
  EXPECT_EQ(list["models"][0]["name"], kStoriesModel) << list.dump();
  EXPECT_EQ(list["models"][0]["model"], kStoriesModel) << list.dump();
  EXPECT_EQ(list["models"][0]["details"]["format"], "gguf") << list.dump();

  const Json& show = results[1]["ok"];
  EXPECT_EQ(show["details"]["family"], "llama") << show.dump();
  EXPECT_TRUE(show["template"].is_string()) << show.dump();
  ASSERT_OK_AND_ASSIGN(baton::v1::ListModelsResponse models, router().ListModels());
  ASSERT_EQ(models.models_size(), 1);
  EXPECT_EQ(show["model_info"]["llama.context_length"], models.models(0).context_length())
      << show.dump();

  const Json& ps = results[2]["ok"];
  ASSERT_TRUE(ps["models"].is_array()) << ps.dump();
  for (const Json& model : ps["models"]) EXPECT_EQ(model["name"], kStoriesModel) << ps.dump();

  EXPECT_FALSE(results[3]["ok"]["version"].get<std::string>().empty()) << results[3].dump();
}

TEST_F(RouterOllamaClientTest, UnknownModelIsNotFound) {
  ASSERT_OK_AND_ASSIGN(
      Json results,
      Ollama(Json::array(
          {{{"api", "generate"},
            {"params", {{"model", "no-such-model"}, {"prompt", "Once"}, {"stream", false}}}},
           {{"api", "show"}, {"params", {{"model", "no-such-model"}}}}})));
  for (const Json& result : results) {
    ASSERT_TRUE(result.contains("error")) << result.dump();
    EXPECT_EQ(result["error"]["status"], 404) << result.dump();
    EXPECT_FALSE(result["error"]["message"].get<std::string>().empty()) << result.dump();
  }
}

}  // namespace
}  // namespace baton::testing
