// The router's OpenAI-compatible API through OpenAI's official Node SDK (openai@6), in front of
// real workers on stories260K: completions and chat, whole and streamed, usage that matches the
// router's own tokenization, finish_reason "length" at max_tokens, a stop string that spans two
// tokens, model listing and a wrong API key.
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/stories_router_test.h"

namespace baton::testing {
namespace {

using Json = nlohmann::json;

constexpr char kApiKey[] = "sk-e2e-openai";

class RouterOpenAiSdkTest : public StoriesRouterTest {
 protected:
  static void SetUpTestSuite() { StartRouter({.api_keys = {kApiKey}}); }
  static void TearDownTestSuite() { StopRouter(); }

  // Prompt tokens the router counts for plain `text` (BOS added as for a completion).
  static int32_t TextTokens(const std::string& text) {
    absl::StatusOr<baton::v1::TokenizeResponse> tokens = router().Tokenize(text, true);
    EXPECT_OK(tokens.status());
    return tokens.ok() ? tokens->token_ids_size() : -1;
  }
  // ... and for a chat of one user message, rendered with the model's template.
  static int32_t ChatTokens(const std::string& content) {
    baton::v1::TokenizeRequest request;
    baton::v1::ChatMessage& message = *request.mutable_chat()->add_messages();
    message.set_role("user");
    message.set_content(content);
    absl::StatusOr<baton::v1::TokenizeResponse> tokens = router().Tokenize(request);
    EXPECT_OK(tokens.status());
    return tokens.ok() ? tokens->token_ids_size() : -1;
  }
};

// Index of the piece that holds byte `offset` of the pieces' concatenation; -1 past the end.
int PieceAt(const baton::v1::TokenizeResponse& tokens, size_t offset) {
  size_t end = 0;
  for (int i = 0; i < tokens.pieces_size(); ++i) {
    end += tokens.pieces(i).size();
    if (offset < end) return i;
  }
  return -1;
}

void ExpectUsage(const Json& usage, int32_t prompt_tokens, int32_t completion_tokens) {
  ASSERT_TRUE(usage.is_object()) << usage.dump();
  EXPECT_EQ(usage["prompt_tokens"], prompt_tokens) << usage.dump();
  EXPECT_EQ(usage["completion_tokens"], completion_tokens) << usage.dump();
  EXPECT_EQ(usage["total_tokens"], prompt_tokens + completion_tokens) << usage.dump();
}

TEST_F(RouterOpenAiSdkTest, CompletionsWholeAndStreamedEqualTheGoldenTextWithUsage) {
  const GoldenCase& golden_case = golden().cases[0];
  const int32_t max_tokens = golden().generated_tokens;
  Json params = {{"model", kStoriesModel},
                 {"prompt", golden_case.prompt},
                 {"max_tokens", max_tokens},
                 {"temperature", 0}};
  Json streamed = params;
  streamed["stream"] = true;
  streamed["stream_options"] = {{"include_usage", true}};
  ASSERT_OK_AND_ASSIGN(Json results,
                       OpenAi(Json::array({{{"api", "completions"}, {"params", params}},
                                           {{"api", "completions"}, {"params", streamed}}})));
  const int32_t prompt_tokens = TextTokens(golden_case.prompt);
  EXPECT_EQ(prompt_tokens, static_cast<int32_t>(golden_case.prompt_ids.size()));
  for (const Json& result : results) {
    ASSERT_TRUE(CallOk(result));
    const Json& ok = result["ok"];
    EXPECT_EQ(ok["text"], golden_case.generated_text);
    EXPECT_EQ(ok["finish_reason"], "length");
    EXPECT_EQ(ok["model"], kStoriesModel);
    ExpectUsage(ok["usage"], prompt_tokens, max_tokens);
  }
  EXPECT_EQ(results[0]["ok"]["object"], "text_completion");
  const Json& stream = results[1]["ok"];
  EXPECT_GT(stream["chunks"], 2) << "a stream of " << max_tokens << " tokens came in one chunk";
  EXPECT_EQ(stream["ids"].size(), 1u) << "every chunk carries the same id: " << stream.dump();
  // OpenAI's usage chunk carries no choices.
  EXPECT_EQ(stream["usage_chunk_choices"], 0);
}

TEST_F(RouterOpenAiSdkTest, ChatWholeAndStreamedAgreeWithUsage) {
  const std::string content = golden().cases[1].prompt;
  constexpr int32_t kMaxTokens = 12;
  Json params = {{"model", kStoriesModel},
                 {"messages", Json::array({{{"role", "user"}, {"content", content}}})},
                 {"max_tokens", kMaxTokens},
                 {"temperature", 0}};
  Json streamed = params;
  streamed["stream"] = true;
  streamed["stream_options"] = {{"include_usage", true}};
  ASSERT_OK_AND_ASSIGN(Json results,
                       OpenAi(Json::array({{{"api", "chat"}, {"params", params}},
                                           {{"api", "chat"}, {"params", streamed}}})));
  for (const Json& result : results) ASSERT_TRUE(CallOk(result));
  const Json& whole = results[0]["ok"];
  const Json& stream = results[1]["ok"];
  EXPECT_EQ(whole["object"], "chat.completion");
  EXPECT_EQ(stream["object"], "chat.completion.chunk");
  EXPECT_FALSE(whole["text"].get<std::string>().empty());
  EXPECT_EQ(stream["text"], whole["text"]);
  EXPECT_EQ(stream["finish_reason"], whole["finish_reason"]);
  const int32_t prompt_tokens = ChatTokens(content);
  // The tiny story model was not tuned for chat: it may end its turn before max_tokens.
  const int32_t completion_tokens = whole["usage"]["completion_tokens"];
  if (whole["finish_reason"] == "length") {
    EXPECT_EQ(completion_tokens, kMaxTokens);
  }
  EXPECT_LE(completion_tokens, kMaxTokens);
  EXPECT_GT(completion_tokens, 0);
  ExpectUsage(whole["usage"], prompt_tokens, completion_tokens);
  ExpectUsage(stream["usage"], prompt_tokens, completion_tokens);
}

// The greedy continuation of "Once upon a time" starts ", there was": " there" and " was" are
// one token each, so "re wa" is only known once the second has arrived; the text before it must
// come out whole, and nothing after it.
TEST_F(RouterOpenAiSdkTest, StopStringAcrossTwoTokensEndsTheTextRightBeforeIt) {
  const GoldenCase& golden_case = golden().cases[0];
  const std::string stop = "re wa";
  const size_t stop_at = golden_case.generated_text.find(stop);
  ASSERT_NE(stop_at, std::string::npos);
  // Prove the premise with the router's tokenizer: tokenizing prompt + golden text gives the
  // golden ids, and the stop string starts in one token's piece and ends in the next.
  ASSERT_OK_AND_ASSIGN(
      baton::v1::TokenizeResponse tokens,
      router().Tokenize(golden_case.prompt + golden_case.generated_text.substr(0, stop_at + 16),
                        true));
  const size_t prompt_size = golden_case.prompt_ids.size();
  ASSERT_GT(tokens.pieces_size(), prompt_size);
  size_t prompt_bytes = 0;
  for (size_t i = 0; i < prompt_size; ++i) prompt_bytes += tokens.pieces(i).size();
  const int first = PieceAt(tokens, prompt_bytes + stop_at);
  const int last = PieceAt(tokens, prompt_bytes + stop_at + stop.size() - 1);
  ASSERT_EQ(last, first + 1) << tokens.ShortDebugString();
  // Tokens generated up to the one that completes the stop string.
  const int32_t generated_to_stop = last + 1 - static_cast<int32_t>(prompt_size);
  for (int32_t i = 0; i < generated_to_stop; ++i) {
    ASSERT_EQ(tokens.token_ids(prompt_size + i), golden_case.generated_ids[i])
        << "tokenizing the golden text does not give the golden ids: " << tokens.ShortDebugString();
  }

  Json params = {{"model", kStoriesModel},
                 {"prompt", golden_case.prompt},
                 {"max_tokens", golden().generated_tokens},
                 {"temperature", 0},
                 {"stop", Json::array({stop})}};
  Json streamed = params;
  streamed["stream"] = true;
  streamed["stream_options"] = {{"include_usage", true}};
  ASSERT_OK_AND_ASSIGN(Json results,
                       OpenAi(Json::array({{{"api", "completions"}, {"params", params}},
                                           {{"api", "completions"}, {"params", streamed}}})));
  for (const Json& result : results) {
    ASSERT_TRUE(CallOk(result));
    EXPECT_EQ(result["ok"]["text"], golden_case.generated_text.substr(0, stop_at));
    EXPECT_EQ(result["ok"]["finish_reason"], "stop");
    // Counted: every token generated, up to the one that completed the stop string.
    ExpectUsage(result["ok"]["usage"], static_cast<int32_t>(golden_case.prompt_ids.size()),
                generated_to_stop);
  }
}

TEST_F(RouterOpenAiSdkTest, ModelsListTheServedModel) {
  ASSERT_OK_AND_ASSIGN(Json results, OpenAi(Json::array({{{"api", "models"}}})));
  ASSERT_TRUE(CallOk(results[0]));
  EXPECT_EQ(results[0]["ok"]["ids"], Json::array({kStoriesModel}));
}

TEST_F(RouterOpenAiSdkTest, WrongApiKeyIsAnAuthenticationError) {
  ASSERT_OK_AND_ASSIGN(
      Json results,
      OpenAiWithKey(
          "sk-wrong",
          Json::array(
              {{{"api", "completions"},
                {"params", {{"model", kStoriesModel}, {"prompt", "Once"}, {"max_tokens", 2}}}},
               {{"api", "models"}}})));
  for (const Json& result : results) {
    ASSERT_TRUE(result.contains("error")) << result.dump();
    EXPECT_EQ(result["error"]["status"], 401) << result.dump();
    EXPECT_EQ(result["error"]["body"]["type"], "authentication_error") << result.dump();
  }
}

}  // namespace
}  // namespace baton::testing
