// Byte-level BPE pre-tokenization: splits raw text into words with the regex sequence that the
// vocabulary's `tokenizer.ggml.pre` name selects (GPT-2, Llama 3, Qwen2, DeepSeek, ...).
// Each regex of the sequence splits every piece produced by the previous one; both the matches
// and the text between matches become pieces ("isolated" splitting), so the pieces always
// concatenate back to the input. Invalid UTF-8 never matches and ends up in between-pieces.
//
// Thread-safe after Create: Split only reads the compiled patterns.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace baton::engine::tokenizer {

struct PreTokenizerSpec {
  std::vector<std::string> regexes;  // PCRE2 syntax, applied in order
  // When a whole pre-tokenized word is itself a token, emit it without merging (Llama 3, Tekken).
  bool ignore_merges = false;
};

// Regex sequence for a `tokenizer.ggml.pre` value. Empty or "default" gives the generic BPE
// split. Unknown names -> kUnimplemented naming the value.
absl::StatusOr<PreTokenizerSpec> PreTokenizerSpecFor(std::string_view pre_name);

// Every `tokenizer.ggml.pre` value PreTokenizerSpecFor accepts, sorted.
std::vector<std::string> SupportedPreTokenizers();

class PreTokenizer {
 public:
  // Compiles the regexes (with JIT when available). kInvalidArgument if one does not compile.
  static absl::StatusOr<std::unique_ptr<PreTokenizer>> Create(const PreTokenizerSpec& spec);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Appends the pieces of `text` (views into `text`, non-empty, in order) to `pieces`.
  void Split(std::string_view text, std::vector<std::string_view>* pieces) const;

  bool ignore_merges() const { return ignore_merges_; }

 private:
  struct Compiled;
  PreTokenizer() = default;
  std::vector<std::unique_ptr<Compiled>> patterns_;
  bool ignore_merges_ = false;
};

}  // namespace baton::engine::tokenizer
