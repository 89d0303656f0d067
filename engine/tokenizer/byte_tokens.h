// Byte fallback: the token each raw byte becomes when no longer token covers it. SentencePiece
// vocabularies spell byte tokens "<0xNN>"; byte-level BPE vocabularies spell them as the byte's
// character in the GPT-2 alphabet (utf8.h).
//
// Immutable after construction; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "engine/tokenizer/indexed_vocab.h"

namespace baton::engine::tokenizer {

// "<0xNN>" (upper-case hex), the SentencePiece spelling of a byte token.
std::string HexByteTokenText(uint8_t byte);
// The byte a "<0xNN>" text names (either hex case), or nullopt for any other text.
std::optional<uint8_t> ParseHexByteTokenText(std::string_view text);

class ByteTokens {
 public:
  // Looks up, for every byte, the token whose text is `spelling(byte)`. `vocab` is only read
  // here.
  ByteTokens(const IndexedVocab& vocab, absl::FunctionRef<std::string(uint8_t)> spelling);

  // The token of `byte`, or kNoToken when the vocabulary has none.
  int32_t operator[](uint8_t byte) const { return ids_[byte]; }
  // True when all 256 bytes have a token.
  bool complete() const { return complete_; }

  // Appends the token of `byte`, else the vocabulary's unknown token. kInvalidArgument naming the
  // byte when there is neither.
  absl::Status Append(uint8_t byte, std::vector<int32_t>* out) const;

 private:
  std::array<int32_t, 256> ids_;
  int32_t unk_id_;
  bool complete_;
};

}  // namespace baton::engine::tokenizer
