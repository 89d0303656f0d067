// The seam between a Tokenizer and its algorithm. One implementation per GGUF
// `tokenizer.ggml.model` value: SentencePieceModel ("llama", sentencepiece_model.h) and
// ByteLevelBpeModel ("gpt2", byte_level_bpe_model.h); tokenizer_model_registry.h picks one.
// The Tokenizer keeps what every algorithm shares (BOS/EOS, special-token text in the input,
// decoding by per-token pieces) and asks the algorithm only the two things that differ: how plain
// text becomes ids and what bytes a token's text spells.
//
// An implementation reads an IndexedVocab that outlives it. Immutable after creation; both
// methods are const and safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/tokenizer/vocab.h"

namespace baton::engine::tokenizer {

class TokenizerModel {
 public:
  virtual ~TokenizerModel() = default;

  // Appends the ids of `text` to `out`. `text` holds no special-token text (the Tokenizer has cut
  // it out); `after_special` is true when it begins the input or follows a special token.
  // Errors: kInvalidArgument when a byte of `text` has no token, no byte-fallback token and the
  // vocabulary has no unknown token (what was appended before the error is unspecified).
  virtual absl::Status Encode(std::string_view text, bool after_special,
                              std::vector<int32_t>* out) const = 0;

  // The bytes that a token of type kNormal or kByte stands for, given its vocabulary text
  // ("▁the" -> " the", "Ġthe" -> " the", "<0x0A>" -> "\n"). Text the algorithm cannot read comes
  // back unchanged.
  virtual std::string TokenBytes(std::string_view text, TokenType type) const = 0;
};

}  // namespace baton::engine::tokenizer
