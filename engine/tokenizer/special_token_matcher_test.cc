#include "engine/tokenizer/special_token_matcher.h"

#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

// Fragments as "text" or "#id" for readable expectations.
std::vector<std::string> Show(const std::vector<SpecialTokenMatcher::Fragment>& fragments) {
  std::vector<std::string> out;
  for (const auto& f : fragments) {
    out.push_back(f.token == kNoToken ? std::string(f.text) : "#" + std::to_string(f.token));
  }
  return out;
}

IndexedVocab MakeVocab() {
  Vocab v;
  v.tokens = {"x", "<|a|>", "<|a|>b", "<tool>", "<unk>", "@", "<|"};
  v.types = {TokenType::kNormal,  TokenType::kControl, TokenType::kControl, TokenType::kUserDefined,
             TokenType::kUnknown, TokenType::kControl, TokenType::kNormal};
  auto indexed = IndexedVocab::Create(v);
  EXPECT_TRUE(indexed.ok()) << indexed.status();
  return *std::move(indexed);
}

TEST(SpecialTokenMatcherTest, LeftmostThenLongest) {
  const IndexedVocab vocab = MakeVocab();
  SpecialTokenMatcher matcher(vocab);
  EXPECT_THAT(Show(matcher.Split("hi<|a|>b<|a|>@end", true)),
              ::testing::ElementsAre("hi", "#2", "#1", "#5", "end"));
  EXPECT_THAT(Show(matcher.Split("<unk><|", true)), ::testing::ElementsAre("#4", "<|"));
}

TEST(SpecialTokenMatcherTest, ControlTokensOnlyWhenParsingButUserDefinedAlways) {
  const IndexedVocab vocab = MakeVocab();
  SpecialTokenMatcher matcher(vocab);
  EXPECT_THAT(Show(matcher.Split("a<|a|>b<tool>@", false)),
              ::testing::ElementsAre("a<|a|>b", "#3", "@"));
  EXPECT_THAT(Show(matcher.Split("", true)), ::testing::IsEmpty());
  EXPECT_THAT(Show(matcher.Split("plain", true)), ::testing::ElementsAre("plain"));
}

}  // namespace
}  // namespace baton::engine::tokenizer
