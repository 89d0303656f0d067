#include "engine/tokenizer/sentencepiece_model.h"

#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "engine/tokenizer/test_vocabs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::testing::ElementsAre;

class SentencePieceModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto vocab = IndexedVocab::Create(testing::MakeSentencePieceVocab());
    ASSERT_TRUE(vocab.ok()) << vocab.status();
    vocab_ = std::make_unique<IndexedVocab>(*std::move(vocab));
    auto model = SentencePieceModel::Create(*vocab_);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *std::move(model);
  }

  std::vector<std::string> Encode(std::string_view text, bool after_special) {
    std::vector<int32_t> ids;
    EXPECT_OK(model_->Encode(text, after_special, &ids));
    std::vector<std::string> texts;
    for (int32_t id : ids) texts.emplace_back(vocab_->TokenText(id));
    return texts;
  }

  std::unique_ptr<IndexedVocab> vocab_;
  std::unique_ptr<TokenizerModel> model_;
};

TEST_F(SentencePieceModelTest, SpacePrefixOnlyAfterASpecialToken) {
  EXPECT_THAT(Encode("the world", true), ElementsAre("▁the", "▁world"));
  EXPECT_THAT(Encode("the world", false), ElementsAre("t", "he", "▁world"));
}

TEST_F(SentencePieceModelTest, TokenBytes) {
  EXPECT_EQ(model_->TokenBytes("▁the", TokenType::kNormal), " the");
  EXPECT_EQ(model_->TokenBytes("▁▁", TokenType::kNormal), "  ");
  EXPECT_EQ(model_->TokenBytes("<0x0A>", TokenType::kByte), "\n");
  EXPECT_EQ(model_->TokenBytes("<0x0A>", TokenType::kNormal), "<0x0A>");
  EXPECT_EQ(model_->TokenBytes("odd", TokenType::kByte), "odd");
}

}  // namespace
}  // namespace baton::engine::tokenizer
