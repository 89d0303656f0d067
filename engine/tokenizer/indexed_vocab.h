// A Vocab checked for consistency, with the text -> id index every tokenizer algorithm looks
// tokens up in. The "vocabulary" half of a Tokenizer: the algorithms (tokenizer_model.h) and the
// special-token matcher read it and never change it.
//
// Immutable after Create; every method is const and thread-safe. Movable, but the algorithms
// built over it keep a reference: do not move it once they exist.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/tokenizer/vocab.h"

namespace baton::engine::tokenizer {

class IndexedVocab {
 public:
  // Validates `vocab` and indexes its token texts. Empty scores become all 0 and empty types all
  // kNormal. Errors: kInvalidArgument for no tokens, scores/types whose length differs from the
  // tokens', a special id outside the vocabulary, add_bos/add_eos without a BOS/EOS id.
  static absl::StatusOr<IndexedVocab> Create(Vocab vocab);

  const Vocab& vocab() const { return vocab_; }
  int32_t size() const { return static_cast<int32_t>(vocab_.tokens.size()); }

  // Id of a token with exactly this text, or kNoToken. When two tokens share a text, the lower
  // id. Inline: the SentencePiece merge loop calls it for every candidate pair.
  int32_t FindToken(std::string_view text) const {
    auto it = token_to_id_.find(absl::string_view(text.data(), text.size()));
    return it == token_to_id_.end() ? kNoToken : it->second;
  }
  // The token's text as stored ("" for an out-of-range id).
  std::string_view TokenText(int32_t id) const;
  // The token's type (kUndefined for an out-of-range id).
  TokenType TokenTypeOf(int32_t id) const;

 private:
  explicit IndexedVocab(Vocab vocab) : vocab_(std::move(vocab)) {}

  Vocab vocab_;
  absl::flat_hash_map<std::string, int32_t> token_to_id_;
};

}  // namespace baton::engine::tokenizer
