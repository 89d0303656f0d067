#include "engine/tokenizer/gguf_vocab.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/tokenizer/test_vocabs.h"
#include "engine/tokenizer/tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::baton::testing::SharedFile;
using ::baton::testing::StatusIs;

std::vector<int32_t> TypesOf(const Vocab& v) {
  std::vector<int32_t> types;
  for (TokenType t : v.types) types.push_back(static_cast<int32_t>(t));
  return types;
}

absl::StatusOr<Vocab> Load(const gguf::GgufWriter& writer) {
  auto file = gguf::GgufFile::FromBuffer(writer.Serialize());
  if (!file.ok()) return file.status();
  return LoadVocabFromGguf(**file);
}

TEST(GgufVocabTest, LoadsSentencePieceWithLlamaDefaults) {
  const Vocab spm = testing::MakeSentencePieceVocab();
  gguf::GgufWriter w;
  w.SetString("tokenizer.ggml.model", "llama");
  w.SetStringArray("tokenizer.ggml.tokens", spm.tokens);
  w.SetFloat32Array("tokenizer.ggml.scores", spm.scores);
  w.SetInt32Array("tokenizer.ggml.token_type", TypesOf(spm));
  w.SetString("tokenizer.chat_template", "{{ '<|im_start|>' }}");
  ASSERT_OK_AND_ASSIGN(Vocab v, Load(w));
  EXPECT_EQ(v.kind, VocabKind::kSentencePiece);
  EXPECT_EQ(v.tokens, spm.tokens);
  EXPECT_EQ(v.scores, spm.scores);
  EXPECT_EQ(v.types, spm.types);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_TRUE(v.add_bos);
  EXPECT_TRUE(v.add_space_prefix);
  EXPECT_EQ(v.chat_template, "{{ '<|im_start|>' }}");
  ASSERT_OK_AND_ASSIGN(auto t, Tokenizer::Create(v));
  ASSERT_OK_AND_ASSIGN(auto ids, t->Encode("hello"));
  EXPECT_EQ(ids, (std::vector<int32_t>{1, t->FindToken("\xE2\x96\x81hello")}));
}

TEST(GgufVocabTest, LoadsByteLevelBpeWithExplicitIdsAndFlags) {
  const Vocab bpe = testing::MakeByteLevelVocab();
  gguf::GgufWriter w;
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", "qwen2");
  w.SetStringArray("tokenizer.ggml.tokens", bpe.tokens);
  w.SetInt32Array("tokenizer.ggml.token_type", TypesOf(bpe));
  w.SetStringArray("tokenizer.ggml.merges", bpe.merges);
  w.SetUint32("tokenizer.ggml.bos_token_id", 3);
  w.SetUint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(bpe.eos_id));
  w.SetUint32("tokenizer.ggml.padding_token_id", 4);
  w.SetBool("tokenizer.ggml.add_bos_token", false);
  ASSERT_OK_AND_ASSIGN(Vocab v, Load(w));
  EXPECT_EQ(v.kind, VocabKind::kBytePairBpe);
  EXPECT_EQ(v.pre, "qwen2");
  EXPECT_EQ(v.merges, bpe.merges);
  EXPECT_EQ(v.bos_id, 3);
  EXPECT_EQ(v.eos_id, bpe.eos_id);
  EXPECT_EQ(v.pad_id, 4);
  EXPECT_FALSE(v.add_bos);
  EXPECT_FALSE(v.add_space_prefix);
  EXPECT_TRUE(v.scores.empty());
  ASSERT_OK(Tokenizer::Create(v).status());
}

TEST(GgufVocabTest, EndOfGenerationFromKeysAndMarkerTokens) {
  Vocab bpe = testing::MakeByteLevelVocab();
  const int32_t endoftext = bpe.eos_id;
  for (const char* text : {"<|im_start|>", "<|im_end|>", "<|eom_id|>", "<tool_end>"}) {
    bpe.tokens.push_back(text);
    bpe.types.push_back(TokenType::kControl);
  }
  const auto n = static_cast<int32_t>(bpe.tokens.size());
  const int32_t im_end = n - 3;
  const int32_t eom = n - 2;
  const int32_t tool_end = n - 1;
  auto file_with_eom = [&](int32_t eom_id) {
    gguf::GgufWriter w;
    w.SetString("tokenizer.ggml.model", "gpt2");
    w.SetStringArray("tokenizer.ggml.tokens", bpe.tokens);
    w.SetInt32Array("tokenizer.ggml.token_type", TypesOf(bpe));
    w.SetStringArray("tokenizer.ggml.merges", bpe.merges);
    w.SetUint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(endoftext));
    w.SetUint32("tokenizer.ggml.eot_token_id", static_cast<uint32_t>(im_end));
    w.SetUint32("tokenizer.ggml.eom_token_id", static_cast<uint32_t>(eom_id));
    return gguf::GgufFile::FromBuffer(w.Serialize());
  };
  ASSERT_OK_AND_ASSIGN(auto file, file_with_eom(tool_end));
  ASSERT_OK_AND_ASSIGN(Vocab v, LoadVocabFromGguf(*file));
  EXPECT_EQ(v.eot_id, im_end);
  EXPECT_EQ(v.eom_id, tool_end);
  // <|eom_id|> counts by its text although the file names another EOM id.
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> eog, LoadEndOfGenerationIds(*file));
  EXPECT_EQ(eog, (std::vector<int32_t>{endoftext, im_end, eom, tool_end}));

  ASSERT_OK_AND_ASSIGN(file, file_with_eom(n));  // outside the vocabulary
  EXPECT_THAT(LoadEndOfGenerationIds(*file), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(GgufVocabTest, EndOfGenerationOfRealVocabularies) {
  if (!SharedFile(".")) GTEST_SKIP() << "shared folder absent (set BATON_SHARED_DIR)";
  // Each names its EOS, which is also its only special token spelling an end marker.
  const std::pair<const char*, int32_t> cases[] = {
      {"tokenizer/ggml-vocab-llama-spm.gguf", 2},            // </s>
      {"tokenizer/ggml-vocab-gpt-2.gguf", 50256},            // <|endoftext|>
      {"tokenizer/ggml-vocab-deepseek-coder.gguf", 32014}};  // <｜end▁of▁sentence｜>
  for (const auto& [name, eos] : cases) {
    const std::optional<std::string> path = SharedFile(name);
    ASSERT_TRUE(path.has_value()) << "BATON_SHARED_DIR has no " << name;
    ASSERT_OK_AND_ASSIGN(auto file, gguf::GgufFile::Open(*path));
    ASSERT_OK_AND_ASSIGN(std::vector<int32_t> eog, LoadEndOfGenerationIds(*file));
    EXPECT_EQ(eog, std::vector<int32_t>{eos}) << name;
  }
}

TEST(GgufVocabTest, EndOfGenerationNeedsATokenizer) {
  gguf::GgufWriter w;
  ASSERT_OK_AND_ASSIGN(auto file, gguf::GgufFile::FromBuffer(w.Serialize()));
  EXPECT_THAT(LoadEndOfGenerationIds(*file), StatusIs(absl::StatusCode::kNotFound));
}

TEST(GgufVocabTest, Errors) {
  {
    gguf::GgufWriter w;  // no tokenizer at all
    EXPECT_THAT(Load(w), StatusIs(absl::StatusCode::kNotFound));
  }
  {
    gguf::GgufWriter w;
    w.SetString("tokenizer.ggml.model", "bert");
    w.SetStringArray("tokenizer.ggml.tokens", {"a"});
    EXPECT_THAT(Load(w),
                StatusIs(absl::StatusCode::kUnimplemented, ::testing::HasSubstr("\"bert\"")));
  }
  {
    gguf::GgufWriter w;
    w.SetString("tokenizer.ggml.model", "llama");
    w.SetStringArray("tokenizer.ggml.tokens", {"a", "b", "c", "d"});
    w.SetFloat32Array("tokenizer.ggml.scores", {0.0f});
    EXPECT_THAT(Load(w), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  {
    gguf::GgufWriter w;
    w.SetString("tokenizer.ggml.model", "llama");
    w.SetStringArray("tokenizer.ggml.tokens", {"a", "b", "c", "d"});
    w.SetUint32("tokenizer.ggml.bos_token_id", 99);
    EXPECT_THAT(Load(w), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  {
    gguf::GgufWriter w;
    w.SetString("tokenizer.ggml.model", "gpt2");
    w.SetStringArray("tokenizer.ggml.tokens", {"a"});  // no merges
    EXPECT_THAT(Load(w), StatusIs(absl::StatusCode::kNotFound));
  }
  {
    gguf::GgufWriter w;
    w.SetUint32("tokenizer.ggml.model", 7);  // wrong type
    EXPECT_THAT(Load(w), StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

}  // namespace
}  // namespace baton::engine::tokenizer
