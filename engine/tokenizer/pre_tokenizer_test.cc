#include "engine/tokenizer/pre_tokenizer.h"

#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::baton::testing::StatusIs;
using ::testing::ElementsAre;

std::vector<std::string> SplitWith(std::string_view pre, std::string_view text) {
  auto spec = PreTokenizerSpecFor(pre);
  EXPECT_TRUE(spec.ok()) << spec.status();
  auto tokenizer = PreTokenizer::Create(*spec);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::vector<std::string_view> pieces;
  (*tokenizer)->Split(text, &pieces);
  return std::vector<std::string>(pieces.begin(), pieces.end());
}

TEST(PreTokenizerTest, Gpt2SplitsWordsContractionsAndSpaces) {
  EXPECT_THAT(SplitWith("gpt-2", "Hello world's  test123!!"),
              ElementsAre("Hello", " world", "'s", " ", " test", "123", "!!"));
  // Trailing-space look-ahead: the last space of a run joins the next word.
  EXPECT_THAT(SplitWith("gpt-2", "a   b"), ElementsAre("a", "  ", " b"));
}

TEST(PreTokenizerTest, Llama3GroupsDigitsByThreeAndIsCaseInsensitive) {
  EXPECT_THAT(SplitWith("llama-bpe", "12345 I'M"), ElementsAre("123", "45", " I", "'M"));
  EXPECT_THAT(SplitWith("llama-bpe", "x\n\n  y"), ElementsAre("x", "\n\n", " ", " y"));
}

TEST(PreTokenizerTest, Qwen2SplitsSingleDigits) {
  EXPECT_THAT(SplitWith("qwen2", "v2024"), ElementsAre("v", "2", "0", "2", "4"));
}

TEST(PreTokenizerTest, StarcoderSplitsDigitsFirst) {
  EXPECT_THAT(SplitWith("starcoder", "ab 12"), ElementsAre("ab", " ", "1", "2"));
}

TEST(PreTokenizerTest, DeepseekCoderSplitsNewlinesLettersAndCjk) {
  EXPECT_THAT(SplitWith("deepseek-coder", "int x;\n你好"),
              ElementsAre("int", " x", ";", "\n", "你好"));
}

TEST(PreTokenizerTest, Gpt4oKeepsCaseRuns) {
  EXPECT_THAT(SplitWith("gpt-4o", "HelloWORLD don't"), ElementsAre("Hello", "WORLD", " don't"));
}

TEST(PreTokenizerTest, UnicodeClassesCoverNonLatinScripts) {
  EXPECT_THAT(SplitWith("gpt-2", "привет мир"), ElementsAre("привет", " мир"));
}

TEST(PreTokenizerTest, InvalidUtf8StaysInThePieces) {
  const std::string text = "ab\xFF\xFE cd\xC3";
  std::string joined;
  for (const std::string& piece : SplitWith("llama-bpe", text)) joined += piece;
  EXPECT_EQ(joined, text);
}

TEST(PreTokenizerTest, EveryKnownNameCompilesAndPiecesConcatenate) {
  const std::string text = "Hello, Wörld! 12345 don't\n\n  日本語 🙂 x=y+1;\t";
  const std::vector<std::string> names = SupportedPreTokenizers();
  EXPECT_GE(names.size(), 14u);
  for (const char* name :
       {"default", "gpt-2", "llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder", "falcon", "mpt",
        "starcoder", "refact", "smollm", "command-r", "olmo", "tekken", "gpt-4o"}) {
    EXPECT_TRUE(std::find(names.begin(), names.end(), name) != names.end()) << name;
  }
  for (const std::string& name : names) {
    std::string joined;
    for (const std::string& piece : SplitWith(name, text)) {
      EXPECT_FALSE(piece.empty()) << name;
      joined += piece;
    }
    EXPECT_EQ(joined, text) << name;
  }
}

TEST(PreTokenizerTest, LongRunsSplitLikeShortOnes) {
  // Long single-class runs must not hit a regex stack limit and fall back to one big piece.
  const std::string letters(1 << 20, 'a');
  EXPECT_EQ(SplitWith("llama-bpe", letters).size(), 1u);
  const std::string spaces = std::string(1 << 20, ' ') + "x";
  EXPECT_THAT(SplitWith("gpt-2", spaces),
              ElementsAre(std::string((1 << 20) - 1, ' '), std::string(" x")));
  std::string words;
  for (int i = 0; i < 20000; ++i) words += "ab ";
  EXPECT_EQ(SplitWith("qwen2", words).size(), 20001u);  // "ab", then " ab" x 19999, then " "
}

TEST(PreTokenizerTest, UnknownNameIsUnimplemented) {
  EXPECT_THAT(PreTokenizerSpecFor("my-new-model"), StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(PreTokenizerTest, BadRegexIsInvalidArgument) {
  EXPECT_THAT(PreTokenizer::Create(PreTokenizerSpec{{"(unclosed"}, false}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::engine::tokenizer
