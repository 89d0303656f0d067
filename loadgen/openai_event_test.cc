#include "loadgen/openai_event.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace baton::loadgen {
namespace {

using Kind = OpenAiEvent::Kind;

TEST(OpenAiEventTest, ReadsTextChatDeltaUsageDoneAndErrors) {
  EXPECT_EQ(ParseOpenAiEvent(R"({"choices":[{"text":" hi","index":0}]})").kind, Kind::kOutput);
  EXPECT_EQ(ParseOpenAiEvent(R"({"choices":[{"delta":{"content":"x"}}]})").kind, Kind::kOutput);
  EXPECT_EQ(ParseOpenAiEvent(R"({"choices":[{"delta":{"role":"assistant"}}]})").kind,
            Kind::kNothing);
  EXPECT_EQ(
      ParseOpenAiEvent(R"({"choices":[{"text":"","finish_reason":"length"}],"usage":null})").kind,
      Kind::kNothing);
  const OpenAiEvent usage =
      ParseOpenAiEvent(R"({"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":5}})");
  EXPECT_EQ(usage.kind, Kind::kUsage);
  EXPECT_EQ(usage.prompt_tokens, 7);
  EXPECT_EQ(usage.completion_tokens, 5);
  EXPECT_EQ(ParseOpenAiEvent("[DONE]").kind, Kind::kDone);
  const OpenAiEvent error = ParseOpenAiEvent(R"({"error":{"message":"worker died"}})");
  EXPECT_EQ(error.kind, Kind::kError);
  EXPECT_EQ(error.message, "worker died");
  EXPECT_EQ(ParseOpenAiEvent("{not json").kind, Kind::kError);
}

TEST(OpenAiEventTest, BodyAsksForAStreamWithUsageAndExactLength) {
  const RequestSpec spec{.prompt = "Once", .output_tokens = 9};
  const nlohmann::json completion = nlohmann::json::parse(
      OpenAiRequestBody(spec, {.model = "m", .mode = PromptMode::kCompletion}));
  EXPECT_EQ(completion["prompt"], "Once");
  EXPECT_EQ(completion["max_tokens"], 9);
  EXPECT_EQ(completion["stream"], true);
  EXPECT_EQ(completion["stream_options"]["include_usage"], true);
  EXPECT_EQ(completion["ignore_eos"], true);
  EXPECT_EQ(completion["model"], "m");
  const nlohmann::json chat =
      nlohmann::json::parse(OpenAiRequestBody(spec, {.model = "m", .mode = PromptMode::kChat}));
  EXPECT_EQ(chat["messages"][0]["content"], "Once");
  EXPECT_FALSE(chat.contains("prompt"));
  EXPECT_STREQ(OpenAiPath(PromptMode::kChat), "/v1/chat/completions");
  EXPECT_EQ(OpenAiErrorMessage(R"({"error":{"message":"nope"}})"), "nope");
}

}  // namespace
}  // namespace baton::loadgen
