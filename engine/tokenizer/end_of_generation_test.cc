#include "engine/tokenizer/end_of_generation.h"

#include <algorithm>
#include <string>
#include <vector>

#include "engine/tokenizer/test_vocabs.h"
#include "engine/tokenizer/tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Appends a token and returns its id.
int32_t Add(Vocab& v, std::string text, TokenType type) {
  v.tokens.push_back(std::move(text));
  v.types.push_back(type);
  return static_cast<int32_t>(v.tokens.size()) - 1;
}

TEST(EndOfGenerationTest, SentencePieceEosOnly) {
  // </s> is both the named EOS and a marker: listed once.
  EXPECT_THAT(EndOfGenerationIds(testing::MakeSentencePieceVocab()), ElementsAre(2));
}

TEST(EndOfGenerationTest, NamedEosEotAndEomIds) {
  Vocab v = testing::MakeByteLevelVocab();  // EOS is <|endoftext|>
  const int32_t eos = v.eos_id;
  const int32_t turn = Add(v, "<turn_done>", TokenType::kControl);  // not a known marker
  const int32_t tool = Add(v, "<tool_call_done>", TokenType::kControl);
  v.eot_id = turn;
  v.eom_id = tool;
  EXPECT_THAT(EndOfGenerationIds(v), ElementsAre(eos, turn, tool));
}

TEST(EndOfGenerationTest, Llama3MarkersCountWhenTheFileNamesOnlyEos) {
  Vocab v = testing::MakeByteLevelVocab();
  // <|endoftext|>, the byte-level vocabulary's EOS, stays an end marker when EOS moves.
  const int32_t endoftext = v.eos_id;
  const int32_t begin = Add(v, "<|begin_of_text|>", TokenType::kControl);
  const int32_t end_text = Add(v, "<|end_of_text|>", TokenType::kControl);
  Add(v, "<|start_header_id|>", TokenType::kControl);
  const int32_t eom = Add(v, "<|eom_id|>", TokenType::kControl);
  const int32_t eot = Add(v, "<|eot_id|>", TokenType::kControl);
  v.bos_id = begin;
  v.eos_id = end_text;
  EXPECT_THAT(EndOfGenerationIds(v), ElementsAre(endoftext, end_text, eom, eot));
}

TEST(EndOfGenerationTest, EveryWellKnownMarker) {
  Vocab v;
  v.kind = VocabKind::kBytePairBpe;
  std::vector<int32_t> expected;
  for (const char* text : {"<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                           "<|endoftext|>", "<|end_of_text|>", "</s>", "<EOT>",
                           "<\xEF\xBD\x9C"
                           "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"}) {
    Add(v, "plain", TokenType::kNormal);
    expected.push_back(Add(v, text, TokenType::kControl));
  }
  Add(v, "<|im_start|>", TokenType::kControl);
  Add(v, "<start_of_turn>", TokenType::kControl);
  EXPECT_EQ(EndOfGenerationIds(v), expected);
}

TEST(EndOfGenerationTest, UserDefinedMarkerCountsNormalTextDoesNot) {
  Vocab v;
  v.kind = VocabKind::kSentencePiece;
  Add(v, "<|im_end|>", TokenType::kNormal);  // ordinary text that happens to match
  const int32_t gemma = Add(v, "<end_of_turn>", TokenType::kUserDefined);
  Add(v, "</s>", TokenType::kByte);
  Add(v, "<|end|>", TokenType::kUnused);
  EXPECT_THAT(EndOfGenerationIds(v), ElementsAre(gemma));
}

TEST(EndOfGenerationTest, NoTypesNoEosIsEmpty) {
  Vocab v;
  v.tokens = {"a", "<|im_end|>", "</s>"};  // no types: all normal text
  EXPECT_THAT(EndOfGenerationIds(v), IsEmpty());
  v.eos_id = 2;
  v.eot_id = 7;  // outside the vocabulary: left out
  EXPECT_THAT(EndOfGenerationIds(v), ElementsAre(2));
}

TEST(EndOfGenerationTest, TokenizerUsesTheSameSet) {
  Vocab v = testing::MakeByteLevelVocab();
  const int32_t im_end = Add(v, "<|im_end|>", TokenType::kControl);
  const int32_t tool = Add(v, "<tool_done>", TokenType::kControl);
  v.eom_id = tool;
  auto tokenizer = Tokenizer::Create(v);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  const std::vector<int32_t> ids = EndOfGenerationIds((*tokenizer)->vocab());
  EXPECT_THAT(ids, ElementsAre(v.eos_id, im_end, tool));
  for (int32_t id = 0; id < (*tokenizer)->vocab_size(); ++id) {
    EXPECT_EQ((*tokenizer)->IsEndOfGeneration(id), std::count(ids.begin(), ids.end(), id) == 1)
        << id;
  }
}

}  // namespace
}  // namespace baton::engine::tokenizer
