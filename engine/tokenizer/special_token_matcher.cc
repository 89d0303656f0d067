#include "engine/tokenizer/special_token_matcher.h"

#include <algorithm>
#include <string>

namespace baton::engine::tokenizer {
namespace {

bool IsSpecialType(TokenType type) {
  return type == TokenType::kControl || type == TokenType::kUserDefined ||
         type == TokenType::kUnknown;
}

uint16_t Prefix(uint8_t first, uint8_t second) {
  return static_cast<uint16_t>(first << 8 | second);
}

}  // namespace

SpecialTokenMatcher::SpecialTokenMatcher(const IndexedVocab& vocab)
    : vocab_(vocab), first_byte_(256, false), single_byte_(256) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const std::string_view text = vocab.TokenText(id);
    if (!IsSpecialType(vocab.TokenTypeOf(id)) || text.empty()) continue;
    const uint8_t first = static_cast<uint8_t>(text[0]);
    first_byte_[first] = true;
    if (text.size() == 1) {
      single_byte_[first].push_back(id);
    } else {
      by_prefix_[Prefix(first, static_cast<uint8_t>(text[1]))].push_back(id);
    }
  }
  auto longest_first = [&vocab](int32_t a, int32_t b) {
    return vocab.TokenText(a).size() > vocab.TokenText(b).size();
  };
  for (auto& [prefix, ids] : by_prefix_) std::stable_sort(ids.begin(), ids.end(), longest_first);
}

int32_t SpecialTokenMatcher::Match(std::string_view text, size_t pos, bool parse_special) const {
  const uint8_t first = static_cast<uint8_t>(text[pos]);
  if (!first_byte_[first]) return kNoToken;
  auto matches = [&](int32_t id) {
    if (!parse_special && vocab_.TokenTypeOf(id) != TokenType::kUserDefined) return false;
    const std::string_view name = vocab_.TokenText(id);
    return text.compare(pos, name.size(), name) == 0;
  };
  if (pos + 1 < text.size()) {
    auto it = by_prefix_.find(Prefix(first, static_cast<uint8_t>(text[pos + 1])));
    if (it != by_prefix_.end()) {
      for (int32_t id : it->second) {
        if (matches(id)) return id;
      }
    }
  }
  for (int32_t id : single_byte_[first]) {
    if (matches(id)) return id;
  }
  return kNoToken;
}

std::vector<SpecialTokenMatcher::Fragment> SpecialTokenMatcher::Split(std::string_view text,
                                                                      bool parse_special) const {
  std::vector<Fragment> fragments;
  size_t raw_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const int32_t id = Match(text, pos, parse_special);
    if (id == kNoToken) {
      ++pos;
      continue;
    }
    if (pos > raw_start) fragments.push_back(Fragment{text.substr(raw_start, pos - raw_start)});
    fragments.push_back(Fragment{{}, id});
    pos += vocab_.TokenText(id).size();
    raw_start = pos;
  }
  if (raw_start < text.size()) fragments.push_back(Fragment{text.substr(raw_start)});
  return fragments;
}

}  // namespace baton::engine::tokenizer
