#include "engine/tokenizer/byte_tokens.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace baton::engine::tokenizer {

std::string HexByteTokenText(uint8_t byte) {
  char text[8];
  std::snprintf(text, sizeof(text), "<0x%02X>", byte);
  return text;
}

std::optional<uint8_t> ParseHexByteTokenText(std::string_view text) {
  unsigned value = 0;
  char tail = 0;
  if (text.size() == 6 && std::sscanf(std::string(text).c_str(), "<0x%2X%c", &value, &tail) == 2 &&
      tail == '>') {
    return static_cast<uint8_t>(value);
  }
  return std::nullopt;
}

ByteTokens::ByteTokens(const IndexedVocab& vocab, absl::FunctionRef<std::string(uint8_t)> spelling)
    : unk_id_(vocab.vocab().unk_id) {
  for (int b = 0; b < 256; ++b) ids_[b] = vocab.FindToken(spelling(static_cast<uint8_t>(b)));
  complete_ = std::none_of(ids_.begin(), ids_.end(), [](int32_t id) { return id == kNoToken; });
}

absl::Status ByteTokens::Append(uint8_t byte, std::vector<int32_t>* out) const {
  if (ids_[byte] != kNoToken) {
    out->push_back(ids_[byte]);
  } else if (unk_id_ != kNoToken) {
    out->push_back(unk_id_);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "byte 0x", absl::Hex(byte), " has no token and the vocabulary has no unknown token"));
  }
  return absl::OkStatus();
}

}  // namespace baton::engine::tokenizer
