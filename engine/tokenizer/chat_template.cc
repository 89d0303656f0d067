#include "engine/tokenizer/chat_template.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace baton::engine::tokenizer {
namespace {

bool Has(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

std::string Trim(std::string_view text) {
  const absl::string_view stripped =
      absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size()));
  return std::string(stripped.data(), stripped.size());
}

// Reads the default system message of ChatML templates like Qwen's, written as a string
// literal '<|im_start|>system\nYou are ...<|im_end|>\n' in the branch taken when messages[0]
// is not a system message. Returns "" when the template has none.
std::string DefaultChatMlSystem(std::string_view tmpl) {
  if (!Has(tmpl, "'system'") && !Has(tmpl, "\"system\"")) return "";
  constexpr std::string_view kOpen = "<|im_start|>system\\n";
  for (size_t begin = tmpl.find(kOpen); begin != std::string_view::npos;
       begin = tmpl.find(kOpen, begin + 1)) {
    const size_t text_begin = begin + kOpen.size();
    const size_t end = tmpl.find("<|im_end|>", text_begin);
    if (end == std::string_view::npos) break;
    const std::string_view raw = tmpl.substr(text_begin, end - text_begin);
    // A literal message holds no Jinja expression or quote; anything else is computed.
    if (raw.empty() || Has(raw, "{") || Has(raw, "'") || Has(raw, "\"") || Has(raw, "+")) {
      continue;
    }
    std::string text;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == 'n') {
        text.push_back('\n');
        ++i;
      } else {
        text.push_back(raw[i]);
      }
    }
    return text;
  }
  return "";
}

absl::Status BadRole(const ChatMessage& m, ChatTemplateFamily family) {
  return absl::InvalidArgumentError(absl::StrCat("role \"", m.role, "\" is not supported by the ",
                                                 std::string(ChatTemplateFamilyName(family)),
                                                 " chat template"));
}

bool IsKnownRole(const std::string& role) {
  return role == "system" || role == "user" || role == "assistant";
}

// Splits off a leading system message and checks that the rest alternates user/assistant,
// starting with user (Llama 2, Mistral, Gemma).
absl::Status SplitAlternating(std::span<const ChatMessage> messages, ChatTemplateFamily family,
                              std::string* system, std::span<const ChatMessage>* turns) {
  *turns = messages;
  if (!messages.empty() && messages[0].role == "system") {
    *system = messages[0].content;
    *turns = messages.subspan(1);
  }
  for (size_t i = 0; i < turns->size(); ++i) {
    const ChatMessage& m = (*turns)[i];
    if (!IsKnownRole(m.role) || m.role == "system") return BadRole(m, family);
    if ((m.role == "user") != (i % 2 == 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the ", std::string(ChatTemplateFamilyName(family)),
                       " chat template needs user and assistant messages to alternate, "
                       "starting with user"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view ChatTemplateFamilyName(ChatTemplateFamily family) {
  switch (family) {
    case ChatTemplateFamily::kChatMl:
      return "chatml";
    case ChatTemplateFamily::kLlama2:
      return "llama2";
    case ChatTemplateFamily::kLlama3:
      return "llama3";
    case ChatTemplateFamily::kLlama31:
      return "llama3.1";
    case ChatTemplateFamily::kMistral:
      return "mistral";
    case ChatTemplateFamily::kMistralV7:
      return "mistral-v7";
    case ChatTemplateFamily::kPhi3:
      return "phi3";
    case ChatTemplateFamily::kGemma:
      return "gemma";
    case ChatTemplateFamily::kZephyr:
      return "zephyr";
    case ChatTemplateFamily::kDeepSeek:
      return "deepseek";
    case ChatTemplateFamily::kDeepSeek3:
      return "deepseek3";
    case ChatTemplateFamily::kJinja:
      return "jinja";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplate::Create(std::string_view tmpl,
                                                                   std::string bos_token,
                                                                   std::string eos_token) {
  if (Trim(tmpl).empty()) return absl::InvalidArgumentError("the model has no chat template");
  ChatTemplateFamily family;
  if (Has(tmpl, "<|im_start|>")) {
    family = ChatTemplateFamily::kChatMl;
  } else if (Has(tmpl, "<|start_header_id|>")) {
    family = Has(tmpl, "Cutting Knowledge Date") ? ChatTemplateFamily::kLlama31
                                                 : ChatTemplateFamily::kLlama3;
  } else if (Has(tmpl, "[SYSTEM_PROMPT]")) {
    family = ChatTemplateFamily::kMistralV7;
  } else if (Has(tmpl, "[INST]")) {
    family = Has(tmpl, "<<SYS>>") ? ChatTemplateFamily::kLlama2 : ChatTemplateFamily::kMistral;
  } else if (Has(tmpl, "<start_of_turn>")) {
    family = ChatTemplateFamily::kGemma;
  } else if (Has(tmpl, "<|assistant|>") && Has(tmpl, "<|end|>")) {
    family = ChatTemplateFamily::kPhi3;
  } else if (Has(tmpl, "<|user|>") && Has(tmpl, "<|assistant|>")) {
    family = ChatTemplateFamily::kZephyr;
  } else if (Has(tmpl, "<\xEF\xBD\x9CUser\xEF\xBD\x9C>")) {  // <｜User｜>
    family = ChatTemplateFamily::kDeepSeek3;
  } else if (Has(tmpl, "'User: '") && Has(tmpl, "'Assistant:")) {
    family = ChatTemplateFamily::kDeepSeek;
  } else {
    family = ChatTemplateFamily::kJinja;
  }
  auto jinja = JinjaTemplate::Parse(tmpl);
  if (family == ChatTemplateFamily::kJinja && !jinja.ok()) {
    return absl::Status(jinja.status().code(),
                        absl::StrCat("chat template is not of a recognized family and can not be "
                                     "interpreted: ",
                                     std::string(jinja.status().message())));
  }
  auto result = std::unique_ptr<ChatTemplate>(
      new ChatTemplate(family, std::move(bos_token), std::move(eos_token)));
  if (jinja.ok()) result->jinja_ = *std::move(jinja);
  if (family == ChatTemplateFamily::kChatMl) result->default_system_ = DefaultChatMlSystem(tmpl);
  return result;
}

absl::StatusOr<std::string> ChatTemplate::RenderWithInterpreter(
    std::span<const ChatMessage> messages, bool add_generation_prompt) const {
  if (!jinja_) return absl::FailedPreconditionError("the chat template did not parse as Jinja");
  JinjaValue::Array items;
  for (const ChatMessage& m : messages) {
    items.push_back(JinjaValue::NewObject(
        {{"role", JinjaValue::String(m.role)}, {"content", JinjaValue::String(m.content)}}));
  }
  const JinjaValue context =
      JinjaValue::NewObject({{"messages", JinjaValue::NewArray(std::move(items))},
                             {"add_generation_prompt", JinjaValue::Bool(add_generation_prompt)},
                             // Hugging Face passes these as None when the request has none.
                             {"tools", JinjaValue::None()},
                             {"documents", JinjaValue::None()},
                             {"bos_token", JinjaValue::String(bos_)},
                             {"eos_token", JinjaValue::String(eos_)}});
  return jinja_->Render(context);
}

absl::StatusOr<std::string> ChatTemplate::Render(std::span<const ChatMessage> messages,
                                                 bool add_generation_prompt) const {
  if (messages.empty()) return absl::InvalidArgumentError("no messages to render");
  std::string out;
  switch (family_) {
    case ChatTemplateFamily::kJinja:
      return RenderWithInterpreter(messages, add_generation_prompt);
    case ChatTemplateFamily::kChatMl: {
      if (!default_system_.empty() && messages[0].role != "system") {
        absl::StrAppend(&out, "<|im_start|>system\n", default_system_, "<|im_end|>\n");
      }
      for (const ChatMessage& m : messages) {
        if (m.role.empty()) return BadRole(m, family_);
        absl::StrAppend(&out, "<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n");
      }
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      return out;
    }
    case ChatTemplateFamily::kLlama3:
    case ChatTemplateFamily::kLlama31: {
      out = bos_;
      std::span<const ChatMessage> rest = messages;
      if (family_ == ChatTemplateFamily::kLlama31) {
        // Llama 3.1 always opens with a system turn carrying its knowledge-date preamble.
        std::string system;
        if (messages[0].role == "system") {
          system = Trim(messages[0].content);
          rest = messages.subspan(1);
        }
        absl::StrAppend(&out, "<|start_header_id|>system<|end_header_id|>\n\n",
                        "Cutting Knowledge Date: December 2023\nToday Date: ", llama31_date_,
                        "\n\n", system, "<|eot_id|>");
      }
      for (const ChatMessage& m : rest) {
        if (!IsKnownRole(m.role)) return BadRole(m, family_);
        absl::StrAppend(&out, "<|start_header_id|>", m.role, "<|end_header_id|>\n\n",
                        Trim(m.content), "<|eot_id|>");
      }
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      return out;
    }
    case ChatTemplateFamily::kLlama2: {
      std::string system;
      std::span<const ChatMessage> turns;
      if (auto s = SplitAlternating(messages, family_, &system, &turns); !s.ok()) return s;
      for (size_t i = 0; i < turns.size(); ++i) {
        std::string content = turns[i].content;
        if (i == 0 && messages[0].role == "system") {
          content = absl::StrCat("<<SYS>>\n", system, "\n<</SYS>>\n\n", content);
        }
        if (turns[i].role == "user") {
          absl::StrAppend(&out, bos_, "[INST] ", Trim(content), " [/INST]");
        } else {
          absl::StrAppend(&out, " ", Trim(content), " ", eos_);
        }
      }
      return out;  // the template has no separate generation prompt
    }
    case ChatTemplateFamily::kMistral: {
      std::string system;
      std::span<const ChatMessage> turns;
      if (auto s = SplitAlternating(messages, family_, &system, &turns); !s.ok()) return s;
      out = bos_;
      for (size_t i = 0; i < turns.size(); ++i) {
        if (turns[i].role == "user") {
          // Mistral's early templates have no system role; it is folded into the first turn.
          const std::string content = (i == 0 && !system.empty())
                                          ? absl::StrCat(system, "\n\n", turns[i].content)
                                          : turns[i].content;
          absl::StrAppend(&out, "[INST] ", content, " [/INST]");
        } else {
          absl::StrAppend(&out, turns[i].content, eos_);
        }
      }
      return out;
    }
    case ChatTemplateFamily::kMistralV7: {
      out = bos_;
      for (const ChatMessage& m : messages) {
        if (m.role == "system") {
          absl::StrAppend(&out, "[SYSTEM_PROMPT]", m.content, "[/SYSTEM_PROMPT]");
        } else if (m.role == "user") {
          absl::StrAppend(&out, "[INST]", m.content, "[/INST]");
        } else if (m.role == "assistant") {
          absl::StrAppend(&out, m.content, eos_);
        } else {
          return BadRole(m, family_);
        }
      }
      return out;
    }
    case ChatTemplateFamily::kPhi3:
    case ChatTemplateFamily::kZephyr: {
      const bool phi = family_ == ChatTemplateFamily::kPhi3;
      for (const ChatMessage& m : messages) {
        if (!IsKnownRole(m.role)) return BadRole(m, family_);
        if (phi && m.role == "system" && m.content.empty()) continue;
        absl::StrAppend(&out, "<|", m.role, "|>\n", m.content, phi ? "<|end|>" : eos_, "\n");
      }
      if (add_generation_prompt) {
        out += "<|assistant|>\n";
      } else if (phi) {
        out += eos_;
      }
      return out;
    }
    case ChatTemplateFamily::kGemma: {
      std::string system;
      std::span<const ChatMessage> turns;
      if (auto s = SplitAlternating(messages, family_, &system, &turns); !s.ok()) return s;
      out = bos_;
      for (size_t i = 0; i < turns.size(); ++i) {
        const bool user = turns[i].role == "user";
        // Gemma has no system role: its text opens the first user turn.
        const std::string content = (i == 0 && !system.empty())
                                        ? absl::StrCat(system, "\n\n", turns[i].content)
                                        : turns[i].content;
        absl::StrAppend(&out, "<start_of_turn>", user ? "user" : "model", "\n", Trim(content),
                        "<end_of_turn>\n");
      }
      if (add_generation_prompt) out += "<start_of_turn>model\n";
      return out;
    }
    case ChatTemplateFamily::kDeepSeek: {
      out = bos_;
      for (const ChatMessage& m : messages) {
        if (m.role == "system") {
          absl::StrAppend(&out, m.content, "\n\n");
        } else if (m.role == "user") {
          absl::StrAppend(&out, "User: ", m.content, "\n\n");
        } else if (m.role == "assistant") {
          absl::StrAppend(&out, "Assistant: ", m.content, eos_);
        } else {
          return BadRole(m, family_);
        }
      }
      if (add_generation_prompt) out += "Assistant:";
      return out;
    }
    case ChatTemplateFamily::kDeepSeek3: {
      out = bos_;
      // System messages are gathered in front of the first turn.
      for (const ChatMessage& m : messages) {
        if (!IsKnownRole(m.role)) return BadRole(m, family_);
        if (m.role == "system") out += m.content;
      }
      for (const ChatMessage& m : messages) {
        if (m.role == "user") {
          absl::StrAppend(&out, "<\xEF\xBD\x9CUser\xEF\xBD\x9C>", m.content);
        } else if (m.role == "assistant") {
          absl::StrAppend(&out,
                          "<\xEF\xBD\x9C"
                          "Assistant\xEF\xBD\x9C>",
                          m.content, eos_);
        }
      }
      if (add_generation_prompt)
        out +=
            "<\xEF\xBD\x9C"
            "Assistant\xEF\xBD\x9C>";
      return out;
    }
  }
  return absl::InternalError("unhandled chat template family");
}

}  // namespace baton::engine::tokenizer
