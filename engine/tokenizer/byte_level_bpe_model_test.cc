#include "engine/tokenizer/byte_level_bpe_model.h"

#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "engine/tokenizer/test_vocabs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::baton::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<std::unique_ptr<TokenizerModel>> Create(const IndexedVocab& vocab) {
  return ByteLevelBpeModel::Create(vocab);
}

TEST(ByteLevelBpeModelTest, EncodesWordsByRankIgnoringAfterSpecial) {
  ASSERT_OK_AND_ASSIGN(IndexedVocab vocab, IndexedVocab::Create(testing::MakeByteLevelVocab()));
  ASSERT_OK_AND_ASSIGN(auto model, Create(vocab));
  for (bool after_special : {true, false}) {
    std::vector<int32_t> ids;
    ASSERT_OK(model->Encode("hello world", after_special, &ids));
    std::vector<std::string> texts;
    for (int32_t id : ids) texts.emplace_back(vocab.TokenText(id));
    EXPECT_THAT(texts, ElementsAre("he", "ll", "o", "Ġworld"));
  }
}

TEST(ByteLevelBpeModelTest, TokenBytes) {
  ASSERT_OK_AND_ASSIGN(IndexedVocab vocab, IndexedVocab::Create(testing::MakeByteLevelVocab()));
  ASSERT_OK_AND_ASSIGN(auto model, Create(vocab));
  EXPECT_EQ(model->TokenBytes("Ġthe", TokenType::kNormal), " the");
  EXPECT_EQ(model->TokenBytes("Ċ", TokenType::kByte), "\n");
  EXPECT_EQ(model->TokenBytes("<0x0A>", TokenType::kByte), "\n");
  EXPECT_EQ(model->TokenBytes("\xE2\x96\x81", TokenType::kNormal), "\xE2\x96\x81");  // as is
}

TEST(ByteLevelBpeModelTest, RejectsBadMergesAndUnknownPreTokenizers) {
  Vocab merge = testing::MakeByteLevelVocab();
  merge.merges.push_back("nospace");
  ASSERT_OK_AND_ASSIGN(IndexedVocab bad_merge, IndexedVocab::Create(merge));
  EXPECT_THAT(Create(bad_merge),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"nospace\"")));

  Vocab pre = testing::MakeByteLevelVocab();
  pre.pre = "no-such-pre-tokenizer";
  ASSERT_OK_AND_ASSIGN(IndexedVocab bad_pre, IndexedVocab::Create(pre));
  EXPECT_THAT(Create(bad_pre), StatusIs(absl::StatusCode::kUnimplemented));
}

}  // namespace
}  // namespace baton::engine::tokenizer
