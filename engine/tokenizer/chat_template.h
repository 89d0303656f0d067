// Renders OpenAI-style chat messages into a model's prompt text, following the model's
// `tokenizer.chat_template`. The template text is recognized as one of the common families
// (ChatML/Qwen, Llama 2, Llama 3 / 3.1, Mistral, Mistral v7, Phi-3, Gemma, Zephyr, DeepSeek,
// DeepSeek V3/R1) and rendered by a hand-written renderer for that family. Any other template
// is run by the Jinja-subset interpreter (jinja.h); one using constructs outside that subset is
// refused with kUnimplemented rather than guessed.
//
// The rendered prompt contains whatever special-token text the template writes, BOS included
// when the template writes `bos_token`: encode it with EncodeOptions{.add_special = false,
// .parse_special = true}.
//
// Immutable after Create; Render is const and thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/tokenizer/jinja.h"

namespace baton::engine::tokenizer {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class ChatTemplateFamily {
  kChatMl,
  kLlama2,
  kLlama3,
  kLlama31,
  kMistral,
  kMistralV7,
  kPhi3,
  kGemma,
  kZephyr,
  kDeepSeek,
  kDeepSeek3,
  kJinja,  // not a known family: interpreted
};

std::string_view ChatTemplateFamilyName(ChatTemplateFamily family);

class ChatTemplate {
 public:
  // Recognizes `template_text`. `bos_token` / `eos_token` are the texts of the model's BOS and
  // EOS tokens (what the template calls bos_token / eos_token). Errors: kInvalidArgument for
  // an empty template or a syntax error in an unrecognized one; kUnimplemented for an
  // unrecognized template that uses Jinja outside the supported subset.
  static absl::StatusOr<std::unique_ptr<ChatTemplate>> Create(std::string_view template_text,
                                                              std::string bos_token,
                                                              std::string eos_token);

  // The prompt for `messages`, ending with the assistant turn header when
  // `add_generation_prompt`. Errors: kInvalidArgument for an empty message list, a role the
  // family does not support, or an order the template rejects (Llama 2 / Mistral require user
  // and assistant turns to alternate, starting with user, after an optional system message;
  // interpreted templates reject what their raise_exception() calls reject); kUnimplemented
  // when an interpreted template reaches an unsupported filter, test, function or method.
  absl::StatusOr<std::string> Render(std::span<const ChatMessage> messages,
                                     bool add_generation_prompt) const;

  ChatTemplateFamily family() const { return family_; }

  // Renders with the Jinja interpreter even when the family is known (tests cross-check the
  // family renderers with it). kFailedPrecondition if the template did not parse as Jinja.
  absl::StatusOr<std::string> RenderWithInterpreter(std::span<const ChatMessage> messages,
                                                    bool add_generation_prompt) const;

 private:
  ChatTemplate(ChatTemplateFamily family, std::string bos, std::string eos)
      : family_(family), bos_(std::move(bos)), eos_(std::move(eos)) {}

  ChatTemplateFamily family_;
  std::string bos_;
  std::string eos_;
  std::string default_system_;  // ChatML templates that insert a system turn when none is given
  std::string llama31_date_ = "26 Jul 2024";
  std::shared_ptr<const JinjaTemplate> jinja_;  // null when the text is not supported Jinja
};

}  // namespace baton::engine::tokenizer
