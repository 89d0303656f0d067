#include "router/served_model.h"

#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "engine/gguf/gguf_file.h"
#include "engine/model/model_config.h"
#include "engine/tensor/tensor_type.h"
#include "engine/tokenizer/utf8.h"

namespace baton::router {

const char kDefaultChatTemplate[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

namespace {

std::string BaseName(const std::string& path) {
  absl::string_view name = path;
  if (size_t slash = name.rfind('/'); slash != std::string_view::npos) {
    name = name.substr(slash + 1);
  }
  absl::ConsumeSuffix(&name, ".gguf");
  return std::string(name);
}

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = engine::tokenizer::Utf8SequenceLength(text, i);
    if (n == 1 && static_cast<unsigned char>(text[i]) >= 0x80) return false;
    i += n;
  }
  return true;
}

// The weight type most of the file's 2-D tensors use ("q4_0", "q8_0", "f16", ...).
std::string Quantization(const engine::gguf::GgufFile& file) {
  std::map<std::string, int> counts;
  for (const engine::gguf::TensorInfo& t : file.tensors()) {
    if (t.dims.size() >= 2) ++counts[std::string(engine::TensorTypeName(t.type))];
  }
  std::string best;
  int best_count = 0;
  for (const auto& [name, count] : counts) {
    if (count > best_count) best = name, best_count = count;
  }
  return best;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServedModel>> ServedModel::Load(const std::string& gguf_path,
                                                               std::string id) {
  ASSIGN_OR_RETURN(std::unique_ptr<engine::gguf::GgufFile> file,
                   engine::gguf::GgufFile::Open(gguf_path));
  ASSIGN_OR_RETURN(engine::ModelConfig config, engine::ReadModelConfig(*file));
  auto model = std::unique_ptr<ServedModel>(new ServedModel());
  ASSIGN_OR_RETURN(model->codec_, TextCodec::FromGguf(gguf_path));
  model->info_.set_id(id.empty() ? BaseName(gguf_path) : std::move(id));
  model->info_.set_architecture(file->GetString("general.architecture").value_or(""));
  model->info_.set_context_length(config.context_length);
  model->info_.set_quantization(Quantization(*file));

  const engine::tokenizer::Tokenizer& tokenizer = model->codec_->tokenizer();
  model->chat_template_text_ = tokenizer.vocab().chat_template.empty()
                                   ? std::string(kDefaultChatTemplate)
                                   : tokenizer.vocab().chat_template;
  auto text_of = [&](int32_t id) {
    return id >= 0 && id < tokenizer.vocab_size() ? std::string(tokenizer.TokenText(id))
                                                  : std::string();
  };
  absl::StatusOr<std::unique_ptr<engine::tokenizer::ChatTemplate>> chat_template =
      engine::tokenizer::ChatTemplate::Create(model->chat_template_text_,
                                              text_of(tokenizer.bos_id()),
                                              text_of(tokenizer.eos_id()));
  if (!chat_template.ok()) {
    return absl::Status(chat_template.status().code(),
                        absl::StrCat("the chat template of ", gguf_path,
                                     " cannot be used: ", chat_template.status().message()));
  }
  model->chat_template_ = std::move(*chat_template);
  return model;
}

absl::StatusOr<std::vector<int32_t>> ServedModel::EncodeText(std::string_view text,
                                                            bool add_special) const {
  if (text.empty()) return absl::InvalidArgumentError("the prompt is empty");
  if (!IsValidUtf8(text)) {
    return absl::InvalidArgumentError("the prompt is not valid UTF-8");
  }
  return codec_->tokenizer().Encode(text, {.add_special = add_special, .parse_special = false});
}

absl::StatusOr<std::vector<int32_t>> ServedModel::EncodeChat(
    const baton::v1::ChatMessages& chat) const {
  if (chat.messages().empty()) return absl::InvalidArgumentError("'messages' is empty");
  std::vector<engine::tokenizer::ChatMessage> messages;
  for (const baton::v1::ChatMessage& m : chat.messages()) {
    if (m.role() != "system" && m.role() != "user" && m.role() != "assistant") {
      return absl::InvalidArgumentError(
          absl::StrCat("message role '", m.role(), "' is not one of system, user, assistant"));
    }
    if (!IsValidUtf8(m.content())) {
      return absl::InvalidArgumentError("a message's content is not valid UTF-8");
    }
    messages.push_back({m.role(), m.content()});
  }
  ASSIGN_OR_RETURN(std::string prompt,
                   chat_template_->Render(messages, /*add_generation_prompt=*/true));
  // The template writes the special tokens (BOS included) as text.
  return codec_->tokenizer().Encode(prompt, {.add_special = false, .parse_special = true});
}

absl::StatusOr<std::vector<int32_t>> ServedModel::PromptIds(
    const baton::v1::GenerateRequest& request) const {
  switch (request.prompt_case()) {
    case baton::v1::GenerateRequest::kText:
      return EncodeText(request.text(), /*add_special=*/true);
    case baton::v1::GenerateRequest::kChat:
      return EncodeChat(request.chat());
    case baton::v1::GenerateRequest::kTokenIds: {
      if (request.token_ids().ids().empty()) {
        return absl::InvalidArgumentError("the prompt is empty");
      }
      const int32_t vocab = codec_->tokenizer().vocab_size();
      for (int32_t id : request.token_ids().ids()) {
        if (id < 0 || id >= vocab) {
          return absl::InvalidArgumentError(
              absl::StrCat("prompt token id ", id, " is outside the vocabulary [0, ", vocab, ")"));
        }
      }
      return std::vector<int32_t>(request.token_ids().ids().begin(),
                                  request.token_ids().ids().end());
    }
    default:
      return absl::InvalidArgumentError("the request has no prompt");
  }
}

}  // namespace baton::router
