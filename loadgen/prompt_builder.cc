#include "loadgen/prompt_builder.h"

#include <cctype>

#include "absl/strings/str_cat.h"

namespace baton::loadgen {
namespace {

namespace tok = engine::tokenizer;

// Plain words ("the", " cat") re-encode predictably; punctuation and bytes do not.
bool IsWordPiece(const std::string& piece) {
  size_t letters = 0;
  for (size_t i = 0; i < piece.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(piece[i]);
    if (i == 0 && c == ' ') continue;
    if (!std::isalpha(c)) return false;
    ++letters;
  }
  return letters > 0;
}

}  // namespace

absl::StatusOr<PromptBuilder> PromptBuilder::Create(const tok::Tokenizer* tokenizer) {
  std::vector<int32_t> words;
  for (int32_t id = 0; id < tokenizer->vocab_size(); ++id) {
    if (tokenizer->TokenTypeOf(id) != tok::TokenType::kNormal) continue;
    if (IsWordPiece(tokenizer->TokenPiece(id))) words.push_back(id);
  }
  if (words.empty()) {
    return absl::InvalidArgumentError("the vocabulary has no word tokens to build prompts from");
  }
  return PromptBuilder(tokenizer, std::move(words));
}

int32_t PromptBuilder::CountTokens(const std::string& text) const {
  absl::StatusOr<std::vector<int32_t>> ids =
      tokenizer_->Encode(text, {.add_special = true, .parse_special = false});
  return ids.ok() ? static_cast<int32_t>(ids->size()) : 0;
}

std::string PromptBuilder::RandomText(int32_t tokens, std::mt19937_64& rng) const {
  std::uniform_int_distribution<size_t> pick(0, words_.size() - 1);
  std::string text;
  for (int32_t i = 0; i < tokens; ++i) text += tokenizer_->TokenPiece(words_[pick(rng)]);
  return text;
}

absl::StatusOr<std::string> PromptBuilder::Build(int32_t tokens, std::mt19937_64& rng,
                                                 const std::string& prefix) const {
  // Random word pieces re-encode to about as many tokens as were drawn (neighbours may merge).
  // Converge on the exact count by appending words while short and dropping trailing characters
  // while long; the prefix is never touched.
  const int32_t prefix_tokens = prefix.empty() ? 0 : CountTokens(prefix);
  if (prefix_tokens > tokens) {
    return absl::InvalidArgumentError(absl::StrCat("the shared prefix alone has ", prefix_tokens,
                                                   " tokens, more than the prompt's ", tokens));
  }
  std::string suffix;
  for (int attempt = 0; attempt < 200; ++attempt) {
    const std::string text = prefix + suffix;
    const int32_t count = text.empty() ? 0 : CountTokens(text);
    if (count == tokens && !text.empty()) return text;
    if (count < tokens) {
      suffix += RandomText(std::max<int32_t>(1, (tokens - count) / 2), rng);
    } else if (!suffix.empty()) {
      suffix.pop_back();
    } else {
      break;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("could not build a prompt of exactly ", tokens, " tokens"));
}

}  // namespace baton::loadgen
