#include "engine/tokenizer/tokenizer_model_registry.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "engine/tokenizer/byte_level_bpe_model.h"
#include "engine/tokenizer/sentencepiece_model.h"
#include "engine/tokenizer/test_vocabs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::baton::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(TokenizerModelRegistryTest, ModelNamesSelectKinds) {
  ASSERT_OK_AND_ASSIGN(VocabKind llama, VocabKindForModelName("llama"));
  EXPECT_EQ(llama, VocabKind::kSentencePiece);
  ASSERT_OK_AND_ASSIGN(VocabKind gpt2, VocabKindForModelName("gpt2"));
  EXPECT_EQ(gpt2, VocabKind::kBytePairBpe);
  EXPECT_THAT(SupportedTokenizerModels(), ElementsAre("gpt2", "llama"));
}

TEST(TokenizerModelRegistryTest, UnknownModelNameIsUnimplementedAndNamed) {
  for (const char* name : {"t5", "bert", "rwkv", "none", "", "LLAMA"}) {
    EXPECT_THAT(
        VocabKindForModelName(name),
        StatusIs(absl::StatusCode::kUnimplemented, AllOf(HasSubstr(absl::StrCat("\"", name, "\"")),
                                                         HasSubstr("gpt2"), HasSubstr("llama"))));
  }
}

TEST(TokenizerModelRegistryTest, CreatesTheAlgorithmOfTheKind) {
  ASSERT_OK_AND_ASSIGN(IndexedVocab spm, IndexedVocab::Create(testing::MakeSentencePieceVocab()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TokenizerModel> spm_model, CreateTokenizerModel(spm));
  EXPECT_NE(dynamic_cast<SentencePieceModel*>(spm_model.get()), nullptr);

  ASSERT_OK_AND_ASSIGN(IndexedVocab bpe, IndexedVocab::Create(testing::MakeByteLevelVocab()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TokenizerModel> bpe_model, CreateTokenizerModel(bpe));
  EXPECT_NE(dynamic_cast<ByteLevelBpeModel*>(bpe_model.get()), nullptr);
}

TEST(TokenizerModelRegistryTest, AlgorithmErrorsComeThrough) {
  Vocab vocab = testing::MakeByteLevelVocab();
  vocab.pre = "no-such-pre-tokenizer";
  ASSERT_OK_AND_ASSIGN(IndexedVocab indexed, IndexedVocab::Create(vocab));
  EXPECT_THAT(CreateTokenizerModel(indexed),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("no-such-pre-tokenizer")));
}

TEST(TokenizerModelRegistryTest, KindOutsideTheEnumIsInvalidArgument) {
  Vocab vocab = testing::MakeSentencePieceVocab();
  vocab.kind = static_cast<VocabKind>(42);
  ASSERT_OK_AND_ASSIGN(IndexedVocab indexed, IndexedVocab::Create(vocab));
  EXPECT_THAT(CreateTokenizerModel(indexed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("42")));
}

}  // namespace
}  // namespace baton::engine::tokenizer
