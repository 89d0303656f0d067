#include "engine/tokenizer/byte_tokens.h"

#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::baton::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ByteTokensTest, HexSpellingRoundTrips) {
  for (int b = 0; b < 256; ++b) {
    const std::string text = HexByteTokenText(static_cast<uint8_t>(b));
    ASSERT_EQ(text.size(), 6u);
    EXPECT_EQ(ParseHexByteTokenText(text), static_cast<uint8_t>(b)) << text;
  }
  EXPECT_EQ(HexByteTokenText(0x0A), "<0x0A>");
  EXPECT_EQ(ParseHexByteTokenText("<0xab>"), 0xAB);
  for (const char* other : {"<0x0A", "<0x0A>>", "0x0A", "<0xZZ>", "", "<0x0G>"}) {
    EXPECT_EQ(ParseHexByteTokenText(other), std::nullopt) << other;
  }
}

TEST(ByteTokensTest, FallsBackToUnknownThenFails) {
  Vocab vocab;
  vocab.tokens = {"<unk>", "<0x41>", "<0x42>"};
  ASSERT_OK_AND_ASSIGN(IndexedVocab without_unk, IndexedVocab::Create(vocab));
  ByteTokens bytes(without_unk, HexByteTokenText);
  EXPECT_EQ(bytes['A'], 1);
  EXPECT_EQ(bytes['C'], kNoToken);
  EXPECT_FALSE(bytes.complete());
  std::vector<int32_t> ids;
  ASSERT_OK(bytes.Append('B', &ids));
  EXPECT_THAT(ids, ElementsAre(2));
  EXPECT_THAT(bytes.Append('C', &ids),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0x43")));

  vocab.unk_id = 0;
  ASSERT_OK_AND_ASSIGN(IndexedVocab with_unk, IndexedVocab::Create(vocab));
  ByteTokens with_fallback(with_unk, HexByteTokenText);
  ids.clear();
  ASSERT_OK(with_fallback.Append('C', &ids));
  EXPECT_THAT(ids, ElementsAre(0));
}

TEST(ByteTokensTest, CompleteWhenEveryByteHasAToken) {
  Vocab vocab;
  for (int b = 0; b < 256; ++b) vocab.tokens.push_back(std::string(1, static_cast<char>(b)));
  ASSERT_OK_AND_ASSIGN(IndexedVocab indexed, IndexedVocab::Create(vocab));
  ByteTokens bytes(indexed, [](uint8_t b) { return std::string(1, static_cast<char>(b)); });
  EXPECT_TRUE(bytes.complete());
  EXPECT_EQ(bytes[0xFF], 0xFF);
}

}  // namespace
}  // namespace baton::engine::tokenizer
