// Finds special-token text (control, user-defined and unknown tokens, e.g. "<|im_start|>") in
// input text, the way Hugging Face matches added tokens: the leftmost match first, and at one
// position the longest token. User-defined tokens always match; control and unknown tokens only
// when the caller parses special text.
//
// Immutable after construction; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/tokenizer/indexed_vocab.h"

namespace baton::engine::tokenizer {

class SpecialTokenMatcher {
 public:
  // A piece of the input: text still to encode (token == kNoToken) or a recognized special token.
  struct Fragment {
    std::string_view text;
    int32_t token = kNoToken;
  };

  // Indexes the special tokens of `vocab`, which must outlive the matcher.
  explicit SpecialTokenMatcher(const IndexedVocab& vocab);

  // Cuts `text` into fragments (views into `text`, in order; text fragments are never empty):
  // the special tokens found, with the text between them.
  std::vector<Fragment> Split(std::string_view text, bool parse_special) const;

 private:
  // The special token whose text starts at text[pos], or kNoToken.
  int32_t Match(std::string_view text, size_t pos, bool parse_special) const;

  const IndexedVocab& vocab_;
  // Candidates by the first two bytes for texts of two or more bytes, by the byte for one-byte
  // texts; longest text first.
  std::vector<bool> first_byte_;
  absl::flat_hash_map<uint16_t, std::vector<int32_t>> by_prefix_;
  std::vector<std::vector<int32_t>> single_byte_;
};

}  // namespace baton::engine::tokenizer
