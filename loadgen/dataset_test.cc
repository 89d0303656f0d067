#include "loadgen/dataset.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "loadgen/testing/temp_files.h"
#include "loadgen/workload.h"

namespace baton::loadgen {
namespace {

using ::baton::testing::StatusIs;

int32_t Words(const std::string& text) {
  int32_t words = 1;
  for (char c : text) words += c == ' ';
  return words;
}

TEST(DatasetTest, ReadsJsonlPromptsAndLengths) {
  const std::string path = testing::WriteTempFile("d.jsonl",
                                                  "{\"prompt\": \"a b c\", \"output_tokens\": 5}\n"
                                                  "\n"
                                                  "{\"prompt\": \"d e\", \"max_tokens\": 3}\n"
                                                  "{\"prompt\": \"f\"}\n");
  ASSERT_OK_AND_ASSIGN(std::vector<RequestSpec> specs, ReadJsonlDataset(path, Words));
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].prompt, "a b c");
  EXPECT_EQ(specs[0].prompt_tokens, 3);
  EXPECT_EQ(specs[0].output_tokens, 5);
  EXPECT_EQ(specs[1].output_tokens, 3);
  EXPECT_EQ(specs[2].output_tokens, 0);  // the workload's default fills it
}

TEST(DatasetTest, JsonlErrorsNameTheLine) {
  EXPECT_THAT(
      ReadJsonlDataset(testing::WriteTempFile("bad.jsonl", "{\"prompt\": \"x\"}\n{oops\n"), nullptr)
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("bad.jsonl:2")));
  EXPECT_THAT(
      ReadJsonlDataset(testing::WriteTempFile("num.jsonl", "{\"prompt\": 3}\n"), nullptr).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("prompt")));
  EXPECT_THAT(ReadJsonlDataset(testing::WriteTempFile(
                                   "len.jsonl", "{\"prompt\": \"x\", \"output_tokens\": -2}\n"),
                               nullptr)
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("output_tokens")));
  EXPECT_THAT(ReadJsonlDataset("/nonexistent/file.jsonl", nullptr).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(DatasetTest, ReadsShareGptFirstTurnsAndSkipsIncompleteConversations) {
  const std::string path = testing::WriteTempFile("share.json", R"([
    {"id": "1", "conversations": [{"from": "human", "value": "tell me a story"},
                                  {"from": "gpt", "value": "once upon a time"},
                                  {"from": "human", "value": "more"}]},
    {"id": "2", "conversations": [{"from": "human", "value": "only a question"}]},
    {"id": "3", "conversations": [{"from": "system", "value": "be nice"},
                                  {"from": "human", "value": "hi"},
                                  {"from": "gpt", "value": "hello you"}]},
    {"id": "4"}
  ])");
  ASSERT_OK_AND_ASSIGN(std::vector<RequestSpec> specs, ReadShareGptDataset(path, Words));
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].prompt, "tell me a story");
  EXPECT_EQ(specs[0].prompt_tokens, 4);
  EXPECT_EQ(specs[0].output_tokens, 4);
  EXPECT_EQ(specs[1].prompt, "hi");
  EXPECT_EQ(specs[1].output_tokens, 2);
  EXPECT_THAT(ReadShareGptDataset(testing::WriteTempFile("obj.json", "{}"), Words).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DatasetWorkloadTest, CyclesThroughEveryEntryInASeededOrder) {
  std::vector<RequestSpec> entries;
  for (int i = 0; i < 5; ++i) entries.push_back({.prompt = std::to_string(i)});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DatasetWorkload> a, DatasetWorkload::Create(entries, 7, 1));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DatasetWorkload> b, DatasetWorkload::Create(entries, 7, 1));
  std::multiset<std::string> first_round;
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK_AND_ASSIGN(RequestSpec x, a->Next());
    ASSERT_OK_AND_ASSIGN(RequestSpec y, b->Next());
    EXPECT_EQ(x.prompt, y.prompt);
    EXPECT_EQ(x.output_tokens, 7);
    if (i < 5) first_round.insert(x.prompt);
  }
  EXPECT_EQ(first_round, (std::multiset<std::string>{"0", "1", "2", "3", "4"}));
  EXPECT_THAT(DatasetWorkload::Create({}, 7, 1).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::loadgen
