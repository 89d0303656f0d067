// Builds token-exact synthetic prompts with the served model's tokenizer: text that the router's
// own tokenization (Encode with the vocabulary's BOS/EOS, specials not parsed) turns into exactly
// the asked number of tokens, from seeded random vocabulary tokens. A shared prefix (a long
// "system prompt" common to a group of requests) stays byte-identical; only the rest varies.
//
// Immutable after construction; Build may be called from any thread with its own generator.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/tokenizer.h"

namespace baton::loadgen {

class PromptBuilder {
 public:
  // `tokenizer` must outlive the builder. kInvalidArgument when the vocabulary has no plain
  // word tokens to draw from.
  static absl::StatusOr<PromptBuilder> Create(const engine::tokenizer::Tokenizer* tokenizer);

  // Text that starts with `prefix` and encodes to exactly `tokens` tokens. kInvalidArgument when
  // `prefix` alone already encodes to more, or when the tokenizer would not let the length be hit.
  absl::StatusOr<std::string> Build(int32_t tokens, std::mt19937_64& rng,
                                    const std::string& prefix = "") const;

  // Tokens the router counts for `text` (with BOS/EOS as the vocabulary asks).
  int32_t CountTokens(const std::string& text) const;

 private:
  PromptBuilder(const engine::tokenizer::Tokenizer* tokenizer, std::vector<int32_t> words)
      : tokenizer_(tokenizer), words_(std::move(words)) {}

  std::string RandomText(int32_t tokens, std::mt19937_64& rng) const;

  const engine::tokenizer::Tokenizer* tokenizer_;
  std::vector<int32_t> words_;  // ids of plain tokens made of letters, with or without a space
};

}  // namespace baton::loadgen
