#include "engine/tokenizer/incremental_decoder.h"

#include <random>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "engine/tokenizer/test_vocabs.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

constexpr EncodeOptions kPlain{.add_special = false, .parse_special = false};

// True when `text` is whole UTF-8 characters (no sequence cut at either end).
bool IsWholeUtf8(const std::string& text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = Utf8SequenceLength(text, pos);
    if (len == 1 && static_cast<uint8_t>(text[pos]) >= 0x80) return false;
    pos += len;
  }
  return true;
}

// Streams `ids` through a decoder, checking each chunk, and returns the concatenation.
std::string Stream(const Tokenizer& t, const std::vector<int32_t>& ids, DecodeOptions options,
                   bool expect_whole_chunks) {
  IncrementalDecoder decoder(&t, options);
  std::string all;
  for (int32_t id : ids) {
    const std::string chunk = decoder.Feed(id);
    if (expect_whole_chunks) {
      EXPECT_TRUE(IsWholeUtf8(chunk)) << "chunk cuts a character";
    }
    all += chunk;
  }
  all += decoder.Flush();
  return all;
}

class IncrementalDecoderTest : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<Tokenizer> MakeTokenizer() {
    auto t = Tokenizer::Create(GetParam() ? testing::MakeByteLevelVocab()
                                          : testing::MakeSentencePieceVocab());
    EXPECT_TRUE(t.ok()) << t.status();
    return *std::move(t);
  }
};

TEST_P(IncrementalDecoderTest, HoldsBackSplitCharacters) {
  auto t = MakeTokenizer();
  ASSERT_OK_AND_ASSIGN(auto ids, t->Encode("x😀", kPlain));  // emoji -> 4 byte tokens
  ASSERT_GE(ids.size(), 3u);
  IncrementalDecoder decoder(t.get());
  std::string out;
  for (size_t i = 0; i + 1 < ids.size(); ++i) out += decoder.Feed(ids[i]);
  EXPECT_EQ(out, "x");
  EXPECT_GT(decoder.pending_bytes(), 0u);
  EXPECT_EQ(decoder.Feed(ids.back()), "😀");
  EXPECT_EQ(decoder.Flush(), "");
}

TEST_P(IncrementalDecoderTest, StreamEqualsOneShotForEveryPrefix) {
  auto t = MakeTokenizer();
  const std::string text = " héllo wörld, 你好 🙂🙃 the end\n";
  ASSERT_OK_AND_ASSIGN(auto ids, t->Encode(text, kPlain));
  for (bool strip : {true, false}) {
    const DecodeOptions options{.strip_space_prefix = strip};
    for (size_t split = 0; split <= ids.size(); ++split) {
      // Both halves of every split stream to their one-shot decode. A split inside a
      // character leaves partial sequences at the edges, so chunks are not checked there.
      const std::vector<int32_t> head(ids.begin(), ids.begin() + split);
      const std::vector<int32_t> tail(ids.begin() + split, ids.end());
      EXPECT_EQ(Stream(*t, head, options, false), t->Decode(head, options));
      EXPECT_EQ(Stream(*t, tail, options, /*expect_whole_chunks=*/false), t->Decode(tail, options))
          << "split at " << split;
    }
    EXPECT_EQ(Stream(*t, ids, options, true), t->Decode(ids, options));
  }
  EXPECT_EQ(Stream(*t, ids, {}, true), text);
}

TEST_P(IncrementalDecoderTest, RandomBytesStreamEqualsOneShot) {
  auto t = MakeTokenizer();
  std::mt19937 rng(3);
  for (int i = 0; i < 100; ++i) {
    std::string text;
    for (int j = 0; j < i % 40; ++j) text.push_back(static_cast<char>(rng() & 0xFF));
    ASSERT_OK_AND_ASSIGN(auto ids, t->Encode(text, kPlain));
    EXPECT_EQ(Stream(*t, ids, {}, /*expect_whole_chunks=*/false), t->Decode(ids));
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, IncrementalDecoderTest, ::testing::Bool(), [](const auto& info) {
  return std::string(info.param ? "ByteLevelBpe" : "SentencePiece");
});

}  // namespace
}  // namespace baton::engine::tokenizer
