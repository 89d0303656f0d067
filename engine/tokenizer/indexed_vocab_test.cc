#include "engine/tokenizer/indexed_vocab.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::baton::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(IndexedVocabTest, FindsTokensAndFillsDefaults) {
  Vocab vocab;
  vocab.tokens = {"a", "b", "a"};
  ASSERT_OK_AND_ASSIGN(IndexedVocab indexed, IndexedVocab::Create(vocab));
  EXPECT_EQ(indexed.size(), 3);
  EXPECT_EQ(indexed.FindToken("b"), 1);
  EXPECT_EQ(indexed.FindToken("a"), 0);  // a shared text finds the lower id
  EXPECT_EQ(indexed.FindToken("c"), kNoToken);
  EXPECT_EQ(indexed.TokenText(2), "a");
  EXPECT_THAT(indexed.vocab().scores, ElementsAre(0.0f, 0.0f, 0.0f));
  EXPECT_EQ(indexed.TokenTypeOf(1), TokenType::kNormal);
}

TEST(IndexedVocabTest, OutOfRangeIdsHaveNoTextOrType) {
  Vocab vocab;
  vocab.tokens = {"a"};
  ASSERT_OK_AND_ASSIGN(IndexedVocab indexed, IndexedVocab::Create(vocab));
  for (int32_t id : {-1, 1, 1000}) {
    EXPECT_EQ(indexed.TokenText(id), "");
    EXPECT_EQ(indexed.TokenTypeOf(id), TokenType::kUndefined);
  }
}

TEST(IndexedVocabTest, RejectsInconsistentVocabularies) {
  EXPECT_THAT(IndexedVocab::Create(Vocab{}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no tokens")));
  Vocab types;
  types.tokens = {"a", "b"};
  types.types = {TokenType::kNormal};
  EXPECT_THAT(IndexedVocab::Create(types), StatusIs(absl::StatusCode::kInvalidArgument));
  Vocab eot;
  eot.tokens = {"a"};
  eot.eot_id = 1;
  EXPECT_THAT(IndexedVocab::Create(eot),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("eot token id 1")));
  Vocab add_eos;
  add_eos.tokens = {"a"};
  add_eos.add_eos = true;
  EXPECT_THAT(IndexedVocab::Create(add_eos), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::engine::tokenizer
