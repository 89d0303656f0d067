#include "router/text_codec.h"

#include <utility>

#include "common/status_macros.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/gguf_vocab.h"

namespace baton::router {

absl::StatusOr<std::unique_ptr<TextCodec>> TextCodec::FromGguf(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<engine::gguf::GgufFile> file,
                   engine::gguf::GgufFile::Open(path));
  ASSIGN_OR_RETURN(std::unique_ptr<engine::tokenizer::Tokenizer> tokenizer,
                   engine::tokenizer::LoadTokenizerFromGguf(*file));
  return std::unique_ptr<TextCodec>(new TextCodec(std::move(tokenizer)));
}

absl::StatusOr<std::vector<int32_t>> TextCodec::EncodePrompt(std::string_view text) const {
  if (text.empty()) return absl::InvalidArgumentError("the prompt is empty");
  return tokenizer_->Encode(text, {.add_special = true, .parse_special = false});
}

engine::tokenizer::IncrementalDecoder TextCodec::NewStream() const {
  return engine::tokenizer::IncrementalDecoder(tokenizer_.get(),
                                               {.strip_space_prefix = false});
}

}  // namespace baton::router
