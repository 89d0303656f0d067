#include "engine/tokenizer/sentencepiece_model.h"

#include <algorithm>
#include <optional>

#include "common/status_macros.h"
#include "engine/tokenizer/symbol_merge.h"

namespace baton::engine::tokenizer {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

bool FollowsSpace(std::string_view text, size_t pos) {
  return pos >= kSpace.size() && text.compare(pos - kSpace.size(), kSpace.size(), kSpace) == 0;
}

// True when no token has "▁" right after a character other than "▁".
bool NoSpaceInsideTokens(const Vocab& vocab) {
  for (const std::string& text : vocab.tokens) {
    for (size_t pos = text.find(kSpace, 1); pos != std::string::npos;
         pos = text.find(kSpace, pos + 1)) {
      if (!FollowsSpace(text, pos)) return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenizerModel>> SentencePieceModel::Create(
    const IndexedVocab& vocab) {
  return std::unique_ptr<TokenizerModel>(new SentencePieceModel(vocab));
}

SentencePieceModel::SentencePieceModel(const IndexedVocab& vocab)
    : vocab_(vocab),
      bytes_(vocab, HexByteTokenText),
      split_at_spaces_(NoSpaceInsideTokens(vocab.vocab())) {}

absl::Status SentencePieceModel::Encode(std::string_view text, bool after_special,
                                        std::vector<int32_t>* out) const {
  std::string escaped;
  escaped.reserve(text.size() + 8);
  if (vocab_.vocab().add_space_prefix && after_special) escaped.append(kSpace);
  for (char c : text) {
    if (c == ' ') {
      escaped.append(kSpace);
    } else {
      escaped.push_back(c);
    }
  }
  const std::string_view all = escaped;
  if (!split_at_spaces_) return EncodeWord(all, out);
  // Cut before every "▁" that follows another character; runs of "▁" stay with the next word.
  size_t start = 0;
  for (size_t pos = 1; pos < all.size(); ++pos) {
    if (all.compare(pos, kSpace.size(), kSpace) != 0 || FollowsSpace(all, pos)) continue;
    RETURN_IF_ERROR(EncodeWord(all.substr(start, pos - start), out));
    start = pos;
  }
  return EncodeWord(all.substr(start), out);
}

absl::Status SentencePieceModel::EncodeWord(std::string_view word,
                                            std::vector<int32_t>* out) const {
  std::vector<MergeSymbol> symbols;
  InitMergeSymbols(word, &symbols);
  std::string joined;
  MergeSymbols(word, &symbols, [this, &joined](std::string_view a, std::string_view b) {
    joined.assign(a).append(b);
    const int32_t id = vocab_.FindToken(joined);
    return id == kNoToken ? std::nullopt : std::optional<float>(vocab_.vocab().scores[id]);
  });
  for (const MergeSymbol& symbol : symbols) {
    if (symbol.size == 0) continue;
    const std::string_view piece = word.substr(symbol.begin, symbol.size);
    const int32_t id = vocab_.FindToken(piece);
    if (id != kNoToken) {
      out->push_back(id);
      continue;
    }
    // A character with no token: byte fallback when every byte has a token, else one unknown.
    const bool all_bytes = std::all_of(piece.begin(), piece.end(), [this](char c) {
      return bytes_[static_cast<uint8_t>(c)] != kNoToken;
    });
    const int32_t unk_id = vocab_.vocab().unk_id;
    if (all_bytes || unk_id == kNoToken) {
      for (char c : piece) RETURN_IF_ERROR(bytes_.Append(static_cast<uint8_t>(c), out));
    } else {
      out->push_back(unk_id);
    }
  }
  return absl::OkStatus();
}

std::string SentencePieceModel::TokenBytes(std::string_view text, TokenType type) const {
  if (type == TokenType::kByte) {
    const std::optional<uint8_t> byte = ParseHexByteTokenText(text);
    return byte ? std::string(1, static_cast<char>(*byte)) : std::string(text);
  }
  std::string bytes;
  for (size_t pos = 0; pos < text.size();) {
    if (text.compare(pos, kSpace.size(), kSpace) == 0) {
      bytes.push_back(' ');
      pos += kSpace.size();
    } else {
      bytes.push_back(text[pos++]);
    }
  }
  return bytes;
}

}  // namespace baton::engine::tokenizer
