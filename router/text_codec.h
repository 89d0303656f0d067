// The router's text side for one model: turns prompts into token ids and streamed token ids back
// into text, with the tokenizer carried in the model's GGUF metadata. Workers stay token-in /
// token-out; all text handling lives here.
//
// Threading: a TextCodec is immutable after FromGguf and may be shared by any number of threads.
// Each response stream gets its own decoder from NewStream(), used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"

namespace baton::router {

class TextCodec {
 public:
  // Reads the tokenizer of the GGUF model at `path`. kNotFound / kDataLoss / kInvalidArgument
  // from the GGUF reader; kUnimplemented for a tokenizer kind the engine does not support.
  static absl::StatusOr<std::unique_ptr<TextCodec>> FromGguf(const std::string& path);

  // Token ids of a plain-text prompt, with BOS (and EOS) as the model's metadata asks.
  // Special-token text in `text` stays plain text. kInvalidArgument for an empty prompt.
  absl::StatusOr<std::vector<int32_t>> EncodePrompt(std::string_view text) const;

  // A decoder for one generated stream. Generated text keeps its leading space (the prompt
  // came before it), so the concatenated pieces read as the continuation of the prompt.
  engine::tokenizer::IncrementalDecoder NewStream() const;

  const engine::tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }

 private:
  explicit TextCodec(std::unique_ptr<engine::tokenizer::Tokenizer> tokenizer)
      : tokenizer_(std::move(tokenizer)) {}

  std::unique_ptr<engine::tokenizer::Tokenizer> tokenizer_;
};

}  // namespace baton::router
