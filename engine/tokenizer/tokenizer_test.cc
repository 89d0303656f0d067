#include "engine/tokenizer/tokenizer.h"

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/status_matchers.h"
#include "engine/tokenizer/test_vocabs.h"
#include "engine/tokenizer/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::baton::testing::StatusIs;
using ::testing::ElementsAre;

constexpr EncodeOptions kPlain{.add_special = false, .parse_special = false};

std::unique_ptr<Tokenizer> Make(Vocab vocab) {
  auto tokenizer = Tokenizer::Create(std::move(vocab));
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

std::vector<std::string> Texts(const Tokenizer& t, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.emplace_back(t.TokenText(id));
  return out;
}

// Random valid UTF-8 mixing ASCII, Latin-1, CJK, emoji and whitespace.
std::string RandomUnicode(std::mt19937* rng, int chars) {
  static constexpr uint32_t kRanges[][2] = {{0x20, 0x7E},     {0x09, 0x0A},       {0xA0, 0x17F},
                                            {0x4E00, 0x4FFF}, {0x1F600, 0x1F64F}, {0x3000, 0x303F},
                                            {0x0400, 0x04FF}};
  std::string s;
  for (int i = 0; i < chars; ++i) {
    const auto& r = kRanges[(*rng)() % std::size(kRanges)];
    AppendUtf8(r[0] + (*rng)() % (r[1] - r[0] + 1), &s);
  }
  return s;
}

std::string RandomBytes(std::mt19937* rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((*rng)() & 0xFF));
  return s;
}

// ---- SentencePiece ----

TEST(SentencePieceTest, MergesByScoreWithSpacePrefix) {
  auto t = Make(testing::MakeSentencePieceVocab());
  ASSERT_OK_AND_ASSIGN(auto ids, t->Encode("hello world", kPlain));
  EXPECT_THAT(Texts(*t, ids), ElementsAre("▁hello", "▁world"));
  ASSERT_OK_AND_ASSIGN(ids, t->Encode("the hello", kPlain));
  EXPECT_THAT(Texts(*t, ids), ElementsAre("▁the", "▁hello"));
}

TEST(SentencePieceTest, AddsBosWhenAskedForSpecialTokens) {
  auto t = Make(testing::MakeSentencePieceVocab());
  ASSERT_OK_AND_ASSIGN(auto ids, t->Encode("the"));
  EXPECT_THAT(ids, ElementsAre(1, t->FindToken("▁the")));
  ASSERT_OK_AND_ASSIGN(ids, t->Encode(""));
  EXPECT_THAT(ids, ElementsAre(1));
  ASSERT_OK_AND_ASSIGN(ids, t->Encode("", kPlain));
  EXPECT_TRUE(ids.empty());
}

TEST(SentencePieceTest, ByteFallbackForUncoveredCharacters) {
  auto t = Make(testing::MakeSentencePieceVocab());
  ASSERT_OK_AND_ASSIGN(auto ids, t->Encode("hé", kPlain));
  EXPECT_THAT(Texts(*t, ids), ElementsAre("▁h", "<0xC3>", "<0xA9>"));
  EXPECT_EQ(t->Decode(ids), "hé");
}

TEST(SentencePieceTest, LeadingSpacesSurviveRoundTrip) {
  auto t = Make(testing::MakeSentencePieceVocab());
  for (std::string text : {" hello", "  the world", "hello  world ", "\n", " ", "a\tb"}) {
    ASSERT_OK_AND_ASSIGN(auto ids, t->Encode(text, kPlain));
    EXPECT_EQ(t->Decode(ids), text) << "\"" << text << "\"";
  }
  ASSERT_OK_AND_ASSIGN(auto ids, t->Encode(" hello", kPlain));
  EXPECT_THAT(Texts(*t, ids), ElementsAre("▁", "▁hello"));
}

TEST(SentencePieceTest, SpecialTextIsPlainUnlessParsed) {
  auto t = Make(testing::MakeSentencePieceVocab());
  ASSERT_OK_AND_ASSIGN(auto plain, t->Encode("<s>the", kPlain));
  EXPECT_THAT(plain, ::testing::Not(::testing::Contains(1)));
  ASSERT_OK_AND_ASSIGN(
      auto parsed, t->Encode("<s>the", EncodeOptions{.add_special = false, .parse_special = true}));
  // After a special token the text gets the space prefix again.
  EXPECT_THAT(Texts(*t, parsed), ElementsAre("<s>", "▁the"));
  EXPECT_EQ(t->Decode(parsed), "the");
  EXPECT_EQ(t->Decode(parsed, DecodeOptions{.render_special = true}), "<s> the");
}

TEST(SentencePieceTest, DecodeOfContinuationKeepsLeadingSpace) {
  auto t = Make(testing::MakeSentencePieceVocab());
  const std::vector<int32_t> ids = {t->FindToken("▁world")};
  EXPECT_EQ(t->Decode(ids), "world");
  EXPECT_EQ(t->Decode(ids, DecodeOptions{.strip_space_prefix = false}), " world");
  EXPECT_EQ(t->TokenPiece(ids[0]), " world");
}

TEST(SentencePieceTest, PiecesSpanningASpaceStillMerge) {
  // A piece with "▁" inside turns off the per-word fast path; the merge must still happen.
  Vocab v = testing::MakeSentencePieceVocab();
  v.tokens.push_back("o\xE2\x96\x81w");
  v.scores.push_back(-0.5f);
  v.types.push_back(TokenType::kNormal);
  auto t = Make(v);
  ASSERT_OK_AND_ASSIGN(auto ids, t->Encode("lo wr", kPlain));
  EXPECT_THAT(Texts(*t, ids), ElementsAre("▁", "l", "o▁w", "r"));
}

TEST(SentencePieceTest, RoundTripsRandomUnicodeAndBytes) {
  auto t = Make(testing::MakeSentencePieceVocab());
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    const std::string text = i % 2 ? RandomUnicode(&rng, 1 + i % 40) : RandomBytes(&rng, i % 50);
    ASSERT_OK_AND_ASSIGN(auto ids, t->Encode(text, kPlain));
    EXPECT_EQ(t->Decode(ids), text);
  }
}

// ---- Byte-level BPE ----

TEST(ByteLevelBpeTest, MergesByRank) {
  auto t = Make(testing::MakeByteLevelVocab());
  ASSERT_OK_AND_ASSIGN(auto ids, t->Encode("hello the world", kPlain));
  EXPECT_THAT(Texts(*t, ids), ElementsAre("he", "ll", "o", "Ġthe", "Ġworld"));
  ASSERT_OK_AND_ASSIGN(ids, t->Encode(" hello café", kPlain));
  EXPECT_THAT(Texts(*t, ids), ElementsAre("Ġhello", "Ġ", "c", "a", "f", "Ã©"));
}

TEST(ByteLevelBpeTest, PieceDecodesByteAlphabet) {
  auto t = Make(testing::MakeByteLevelVocab());
  EXPECT_EQ(t->TokenPiece(t->FindToken("Ġthe")), " the");
  EXPECT_EQ(t->TokenPiece(t->FindToken("Ã©")), "é");
  EXPECT_EQ(t->TokenPiece(t->FindToken("Ċ")), "\n");
}

TEST(ByteLevelBpeTest, RoundTripsRandomUnicode) {
  auto t = Make(testing::MakeByteLevelVocab());
  std::mt19937 rng(11);
  for (int i = 0; i < 300; ++i) {
    const std::string text = RandomUnicode(&rng, 1 + i % 64);
    ASSERT_OK_AND_ASSIGN(auto ids, t->Encode(text, kPlain));
    ASSERT_EQ(t->Decode(ids), text);
  }
}

TEST(ByteLevelBpeTest, IdAndTextMergePathsAgree) {
  auto fast = Make(testing::MakeByteLevelVocab());
  // A merge whose result is not a token forces the text-based path; it never applies below
  // because the texts hold no NUL bytes.
  Vocab slow_vocab = testing::MakeByteLevelVocab();
  slow_vocab.merges.push_back("\xC4\x80 \xC4\x80");  // "Ā Ā": NUL NUL
  auto slow = Make(slow_vocab);
  std::mt19937 rng(17);
  for (int i = 0; i < 200; ++i) {
    const std::string text = RandomUnicode(&rng, 1 + i % 50) + " hello the world";
    ASSERT_OK_AND_ASSIGN(auto a, fast->Encode(text, kPlain));
    ASSERT_OK_AND_ASSIGN(auto b, slow->Encode(text, kPlain));
    ASSERT_EQ(a, b) << text;
  }
}

TEST(ByteLevelBpeTest, RoundTripsRandomBytes) {
  auto t = Make(testing::MakeByteLevelVocab());
  std::mt19937 rng(13);
  for (int i = 0; i < 300; ++i) {
    const std::string text = RandomBytes(&rng, i % 80);
    ASSERT_OK_AND_ASSIGN(auto ids, t->Encode(text, kPlain));
    ASSERT_EQ(t->Decode(ids), text);
  }
}

TEST(ByteLevelBpeTest, ControlTokensOnlyWhenParsingSpecial) {
  auto t = Make(testing::MakeByteLevelVocab());
  const int32_t eot = t->FindToken("<|endoftext|>");
  ASSERT_OK_AND_ASSIGN(auto plain, t->Encode("a<|endoftext|>b", kPlain));
  EXPECT_THAT(plain, ::testing::Not(::testing::Contains(eot)));
  EXPECT_EQ(t->Decode(plain), "a<|endoftext|>b");
  ASSERT_OK_AND_ASSIGN(
      auto parsed,
      t->Encode("a<|endoftext|>b", EncodeOptions{.add_special = false, .parse_special = true}));
  EXPECT_THAT(Texts(*t, parsed), ElementsAre("a", "<|endoftext|>", "b"));
  EXPECT_EQ(t->Decode(parsed), "ab");
  EXPECT_EQ(t->Decode(parsed, DecodeOptions{.render_special = true}), "a<|endoftext|>b");
  EXPECT_TRUE(t->IsEndOfGeneration(eot));
  EXPECT_FALSE(t->IsEndOfGeneration(t->FindToken("a")));
}

TEST(ByteLevelBpeTest, LongestSpecialTokenWinsAtAPosition) {
  Vocab v = testing::MakeByteLevelVocab();
  for (const char* text : {"<|end|>", "<|end", "<"}) {
    v.tokens.push_back(text);
    v.types.push_back(TokenType::kControl);
  }
  auto t = Make(v);
  ASSERT_OK_AND_ASSIGN(auto ids,
                       t->Encode("a<|endoftext|>b<|end|><|en<",
                                 EncodeOptions{.add_special = false, .parse_special = true}));
  EXPECT_THAT(Texts(*t, ids),
              ElementsAre("a", "<|endoftext|>", "b", "<|end|>", "<", "|", "e", "n", "<"));
}

TEST(ByteLevelBpeTest, UserDefinedTokensAlwaysRecognized) {
  auto t = Make(testing::MakeByteLevelVocab());
  ASSERT_OK_AND_ASSIGN(auto ids, t->Encode("x<tool>y", kPlain));
  EXPECT_THAT(Texts(*t, ids), ElementsAre("x", "<tool>", "y"));
  EXPECT_EQ(t->Decode(ids), "x<tool>y");
}

TEST(ByteLevelBpeTest, OutOfRangeIdsDecodeToNothing) {
  auto t = Make(testing::MakeByteLevelVocab());
  const std::vector<int32_t> ids = {-5, t->FindToken("h"), 1 << 30};
  EXPECT_EQ(t->Decode(ids), "h");
  EXPECT_EQ(t->TokenText(-1), "");
}

// ---- Robustness ----

TEST(TokenizerRobustnessTest, ArbitraryInputNeverFailsWithByteTokens) {
  std::mt19937 rng(23);
  for (Vocab vocab : {testing::MakeSentencePieceVocab(), testing::MakeByteLevelVocab()}) {
    auto t = Make(vocab);
    for (int i = 0; i < 300; ++i) {
      // Random bytes with special-token text spliced in.
      std::string text = RandomBytes(&rng, i % 30);
      text += (i % 3 == 0) ? "<s>" : (i % 3 == 1) ? "<|endoftext|>" : "<tool>";
      text += RandomUnicode(&rng, i % 10);
      for (bool parse : {false, true}) {
        ASSERT_OK_AND_ASSIGN(
            auto ids, t->Encode(text, EncodeOptions{.add_special = true, .parse_special = parse}));
        for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < t->vocab_size());
        if (!parse) {
          EXPECT_EQ(t->Decode(ids), text);
        }
      }
    }
  }
}

TEST(TokenizerRobustnessTest, ConcurrentEncodesAgree) {
  auto t = Make(testing::MakeByteLevelVocab());
  std::mt19937 rng(29);
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) texts.push_back(RandomUnicode(&rng, 200) + " hello the world");
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& text : texts) expected.push_back(*t->Encode(text, kPlain));
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          if (*t->Encode(texts[i], kPlain) != expected[i]) ++mismatches;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// ---- Vocabulary validation ----

TEST(TokenizerCreateTest, RejectsBadVocabularies) {
  Vocab empty;
  EXPECT_THAT(Tokenizer::Create(empty), StatusIs(absl::StatusCode::kInvalidArgument));

  Vocab scores = testing::MakeSentencePieceVocab();
  scores.scores.pop_back();
  EXPECT_THAT(Tokenizer::Create(scores), StatusIs(absl::StatusCode::kInvalidArgument));

  Vocab bos = testing::MakeSentencePieceVocab();
  bos.bos_id = 1000000;
  EXPECT_THAT(Tokenizer::Create(bos), StatusIs(absl::StatusCode::kInvalidArgument));

  Vocab merge = testing::MakeByteLevelVocab();
  merge.merges.push_back("nospace");
  EXPECT_THAT(Tokenizer::Create(merge), StatusIs(absl::StatusCode::kInvalidArgument));

  Vocab pre = testing::MakeByteLevelVocab();
  pre.pre = "no-such-pre-tokenizer";
  EXPECT_THAT(Tokenizer::Create(pre), StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(TokenizerEncodeTest, UncoverableByteWithoutUnknownIsInvalidArgument) {
  Vocab v;
  v.kind = VocabKind::kSentencePiece;
  v.tokens = {"a", "b"};
  auto t = Make(v);
  ASSERT_OK_AND_ASSIGN(auto ids, t->Encode("ab", kPlain));
  EXPECT_THAT(ids, ElementsAre(0, 1));
  EXPECT_THAT(t->Encode("abc", kPlain), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::engine::tokenizer
