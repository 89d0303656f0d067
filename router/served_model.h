// One model the router serves: its public facts (baton.v1.ModelInfo), its tokenizer and its chat
// template, read from the model's GGUF file (metadata only; the weights stay on the workers).
// Turns a GenerateRequest's prompt (text, chat messages or token ids) into prompt token ids.
//
// Chat: the file's tokenizer.chat_template, through the engine's template engine (known families
// and a Jinja subset). A file without one gets ChatML (kDefaultChatTemplate), the format most
// chat-tuned GGUF models use and the default Hugging Face applied to models without a template.
//
// Immutable after Load; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/chat_template.h"
#include "proto/baton/v1/inference.pb.h"
#include "router/text_codec.h"

namespace baton::router {

// ChatML, the template a model without tokenizer.chat_template is served with.
extern const char kDefaultChatTemplate[];

class ServedModel {
 public:
  // Reads `gguf_path`. `id` is the name clients use; empty: the file's base name without
  // ".gguf". Errors from the GGUF reader, the tokenizer and the chat template.
  static absl::StatusOr<std::unique_ptr<ServedModel>> Load(const std::string& gguf_path,
                                                           std::string id);

  const std::string& id() const { return info_.id(); }
  const baton::v1::ModelInfo& info() const { return info_; }
  const TextCodec& codec() const { return *codec_; }
  // The template text chat prompts are rendered with.
  const std::string& chat_template_text() const { return chat_template_text_; }

  // The prompt ids of `request`: text encoded with BOS as the model wants, chat messages through
  // the template, token ids checked against the vocabulary. kInvalidArgument for an empty prompt,
  // text that is not valid UTF-8, an id outside the vocabulary, or a conversation the template
  // rejects.
  absl::StatusOr<std::vector<int32_t>> PromptIds(const baton::v1::GenerateRequest& request) const;
  // The same for a TokenizeRequest's input; `add_special` applies to plain text.
  absl::StatusOr<std::vector<int32_t>> EncodeText(std::string_view text, bool add_special) const;
  absl::StatusOr<std::vector<int32_t>> EncodeChat(const baton::v1::ChatMessages& chat) const;

 private:
  ServedModel() = default;

  baton::v1::ModelInfo info_;
  std::unique_ptr<TextCodec> codec_;
  std::unique_ptr<engine::tokenizer::ChatTemplate> chat_template_;
  std::string chat_template_text_;
};

}  // namespace baton::router
