#include "engine/tokenizer/symbol_merge.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::testing::ElementsAre;

// Runs the merge loop with the given pair priorities and returns the resulting pieces.
std::vector<std::string> Merge(std::string_view word, const std::map<std::string, float>& pairs) {
  std::vector<MergeSymbol> symbols;
  InitMergeSymbols(word, &symbols);
  MergeSymbols(word, &symbols, [&](std::string_view a, std::string_view b) {
    auto it = pairs.find(std::string(a) + "+" + std::string(b));
    return it == pairs.end() ? std::nullopt : std::optional<float>(it->second);
  });
  std::vector<std::string> pieces;
  for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
    pieces.emplace_back(word.substr(symbols[i].begin, symbols[i].size));
  }
  return pieces;
}

TEST(SymbolMergeTest, OneSymbolPerCharacterAndInvalidByte) {
  std::vector<MergeSymbol> symbols;
  InitMergeSymbols("a\xC3\xA9\xFF", &symbols);  // a, é, an invalid byte
  ASSERT_EQ(symbols.size(), 3u);
  EXPECT_EQ(symbols[1].begin, 1u);
  EXPECT_EQ(symbols[1].size, 2u);
  EXPECT_EQ(symbols[2].size, 1u);
  EXPECT_EQ(symbols[2].next, -1);
  EXPECT_EQ(symbols[0].prev, -1);
}

TEST(SymbolMergeTest, HighestPriorityFirstThenLeftmost) {
  // "bc" outranks "ab", so "abc" becomes a + bc, not ab + c.
  EXPECT_THAT(Merge("abc", {{"a+b", 1}, {"b+c", 2}}), ElementsAre("a", "bc"));
  EXPECT_THAT(Merge("abc", {{"a+b", 2}, {"b+c", 1}}), ElementsAre("ab", "c"));
  // Equal priorities: the leftmost pair merges first.
  EXPECT_THAT(Merge("aaa", {{"a+a", 1}}), ElementsAre("aa", "a"));
  // Merged symbols merge again.
  EXPECT_THAT(Merge("abcd", {{"a+b", 3}, {"c+d", 2}, {"ab+cd", 1}}), ElementsAre("abcd"));
  EXPECT_THAT(Merge("", {}), ElementsAre());
}

}  // namespace
}  // namespace baton::engine::tokenizer
