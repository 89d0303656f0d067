// SentencePiece-style tokenization (`tokenizer.ggml.model = llama`: Llama 2, Mistral, Gemma,
// Phi-3): spaces become U+2581 "▁" (and, with add_space_prefix, one is put before the text and
// after each special token), then characters merge pairwise, highest-scored result first, while
// the merged text is a token. A leftover character with no token falls back to its "<0xNN>" byte
// tokens, or to the unknown token when some byte has none.
//
// Thread-safe after Create (see tokenizer_model.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/byte_tokens.h"
#include "engine/tokenizer/indexed_vocab.h"
#include "engine/tokenizer/tokenizer_model.h"

namespace baton::engine::tokenizer {

class SentencePieceModel final : public TokenizerModel {
 public:
  // The algorithm over `vocab`, which must outlive it. Does not fail today; the StatusOr matches
  // the other algorithms' factories.
  static absl::StatusOr<std::unique_ptr<TokenizerModel>> Create(const IndexedVocab& vocab);

  absl::Status Encode(std::string_view text, bool after_special,
                      std::vector<int32_t>* out) const override;
  std::string TokenBytes(std::string_view text, TokenType type) const override;

 private:
  explicit SentencePieceModel(const IndexedVocab& vocab);
  // Merges one run of escaped text ("▁" for spaces) and appends its ids.
  absl::Status EncodeWord(std::string_view word, std::vector<int32_t>* out) const;

  const IndexedVocab& vocab_;
  ByteTokens bytes_;
  // No token has "▁" right after another character, so merges never cross the start of a
  // "▁word" and each word can be merged on its own (small, cache-friendly queues instead of one
  // queue over the whole text).
  bool split_at_spaces_;
};

}  // namespace baton::engine::tokenizer
