#include "engine/tokenizer/test_vocabs.h"

#include <cstdio>
#include <string>
#include <utility>

#include "engine/tokenizer/utf8.h"

namespace baton::engine::tokenizer::testing {

Vocab MakeSentencePieceVocab() {
  Vocab v;
  v.kind = VocabKind::kSentencePiece;
  auto add = [&v](std::string text, float score, TokenType type) {
    v.tokens.push_back(std::move(text));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, TokenType::kUnknown);
  add("<s>", 0, TokenType::kControl);
  add("</s>", 0, TokenType::kControl);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    add(name, 0, TokenType::kByte);
  }
  const std::string s = "\xE2\x96\x81";  // ▁
  const std::pair<std::string, float> pieces[] = {
      {s, -1},     {s + "t", -2},      {"he", -3},       {s + "the", -4}, {s + "h", -5},
      {"ll", -6},  {s + "he", -7},     {s + "hell", -8}, {"o", -9},       {s + "hello", -10},
      {"e", -20},  {"h", -21},         {"l", -22},       {"t", -23},      {"w", -24},
      {"r", -25},  {"d", -26},         {s + "w", -27},   {"or", -28},     {s + "wor", -29},
      {"ld", -30}, {s + "world", -31}, {"!", -32},       {",", -33},      {s + s, -40}};
  for (const auto& [text, score] : pieces) add(text, score, TokenType::kNormal);
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  v.add_bos = true;
  v.add_space_prefix = true;
  return v;
}

Vocab MakeByteLevelVocab() {
  Vocab v;
  v.kind = VocabKind::kBytePairBpe;
  v.pre = "gpt-2";
  for (int b = 0; b < 256; ++b) v.tokens.emplace_back(ByteToUnicode(static_cast<uint8_t>(b)));
  // Merges in priority order; each merged text is also a token.
  const std::pair<const char*, const char*> merges[] = {
      {"Ġ", "h"},   {"h", "e"},     {"Ġ", "t"},     {"Ġt", "he"}, {"l", "l"},
      {"Ġh", "e"},  {"Ġhe", "ll"},  {"Ġhell", "o"}, {"o", "r"},   {"Ġ", "w"},
      {"Ġw", "or"}, {"Ġwor", "ld"}, {"l", "d"},     {"Ã", "©"}};
  for (const auto& [a, b] : merges) {
    v.merges.push_back(std::string(a) + " " + b);
    v.tokens.push_back(std::string(a) + b);
  }
  v.types.assign(v.tokens.size(), TokenType::kNormal);
  v.tokens.push_back("<|endoftext|>");
  v.types.push_back(TokenType::kControl);
  v.tokens.push_back("<tool>");
  v.types.push_back(TokenType::kUserDefined);
  v.eos_id = static_cast<int32_t>(v.tokens.size()) - 2;
  v.bos_id = v.eos_id;
  return v;
}

}  // namespace baton::engine::tokenizer::testing
