#include "engine/tokenizer/gguf_vocab.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/tokenizer/tokenizer_model_registry.h"

namespace baton::engine::tokenizer {
namespace {

// Value of an optional key: nullopt when absent, an error when present but unreadable.
template <typename T, typename Getter>
absl::StatusOr<std::optional<T>> Optional(const gguf::GgufFile& file, std::string_view key,
                                          Getter get) {
  if (!file.Has(key)) return std::optional<T>();
  ASSIGN_OR_RETURN(T value, (file.*get)(key));
  return std::optional<T>(std::move(value));
}

absl::Status ReadId(const gguf::GgufFile& file, std::string_view key, int32_t* id) {
  ASSIGN_OR_RETURN(std::optional<int64_t> value,
                   Optional<int64_t>(file, key, &gguf::GgufFile::GetInt));
  if (!value) return absl::OkStatus();
  // Some converters write -1 (as uint32 0xFFFFFFFF) for "none".
  if (*value < 0 || *value >= INT32_MAX) {
    *id = kNoToken;
  } else {
    *id = static_cast<int32_t>(*value);
  }
  return absl::OkStatus();
}

absl::Status ReadFlag(const gguf::GgufFile& file, std::string_view key, bool* flag) {
  ASSIGN_OR_RETURN(std::optional<bool> value, Optional<bool>(file, key, &gguf::GgufFile::GetBool));
  if (value) *flag = *value;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Vocab> LoadVocabFromGguf(const gguf::GgufFile& file) {
  Vocab vocab;
  ASSIGN_OR_RETURN(std::string model, file.GetString("tokenizer.ggml.model"));
  ASSIGN_OR_RETURN(vocab.kind, VocabKindForModelName(model));
  if (vocab.kind == VocabKind::kSentencePiece) {  // llama.cpp's defaults
    vocab.add_bos = true;
    vocab.add_space_prefix = true;
  }
  ASSIGN_OR_RETURN(vocab.tokens, file.GetStringArray("tokenizer.ggml.tokens"));
  const size_t n = vocab.tokens.size();
  if (vocab.kind == VocabKind::kSentencePiece && n > 2) {  // llama.cpp's defaults
    vocab.unk_id = 0;
    vocab.bos_id = 1;
    vocab.eos_id = 2;
  }
  ASSIGN_OR_RETURN(
      std::optional<std::vector<float>> scores,
      Optional<std::vector<float>>(file, "tokenizer.ggml.scores", &gguf::GgufFile::GetFloatArray));
  if (scores) vocab.scores = std::move(*scores);
  ASSIGN_OR_RETURN(std::optional<std::vector<int32_t>> types,
                   Optional<std::vector<int32_t>>(file, "tokenizer.ggml.token_type",
                                                  &gguf::GgufFile::GetIntArray));
  if (types) {
    vocab.types.reserve(types->size());
    for (int32_t t : *types) {
      vocab.types.push_back(t >= 0 && t <= 6 ? static_cast<TokenType>(t) : TokenType::kUndefined);
    }
  }
  if ((!vocab.scores.empty() && vocab.scores.size() != n) ||
      (!vocab.types.empty() && vocab.types.size() != n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer.ggml.scores/token_type lengths do not match ", n, " tokens"));
  }
  if (vocab.kind == VocabKind::kBytePairBpe) {
    ASSIGN_OR_RETURN(vocab.merges, file.GetStringArray("tokenizer.ggml.merges"));
    ASSIGN_OR_RETURN(std::optional<std::string> pre,
                     Optional<std::string>(file, "tokenizer.ggml.pre", &gguf::GgufFile::GetString));
    vocab.pre = pre.value_or("default");
    // Llama 3 style vocabularies expect BOS unless the file says otherwise.
    if (vocab.pre == "llama-bpe" || vocab.pre == "llama3" || vocab.pre == "tekken") {
      vocab.add_bos = true;
    }
  }
  RETURN_IF_ERROR(ReadId(file, "tokenizer.ggml.bos_token_id", &vocab.bos_id));
  RETURN_IF_ERROR(ReadId(file, "tokenizer.ggml.eos_token_id", &vocab.eos_id));
  RETURN_IF_ERROR(ReadId(file, "tokenizer.ggml.eot_token_id", &vocab.eot_id));
  RETURN_IF_ERROR(ReadId(file, "tokenizer.ggml.eom_token_id", &vocab.eom_id));
  RETURN_IF_ERROR(ReadId(file, "tokenizer.ggml.unknown_token_id", &vocab.unk_id));
  RETURN_IF_ERROR(ReadId(file, "tokenizer.ggml.padding_token_id", &vocab.pad_id));
  for (int32_t* id :
       {&vocab.bos_id, &vocab.eos_id, &vocab.eot_id, &vocab.eom_id, &vocab.unk_id, &vocab.pad_id}) {
    if (*id != kNoToken && static_cast<size_t>(*id) >= n) {
      return absl::InvalidArgumentError(
          absl::StrCat("special token id ", *id, " is outside the vocabulary of ", n));
    }
  }
  RETURN_IF_ERROR(ReadFlag(file, "tokenizer.ggml.add_bos_token", &vocab.add_bos));
  RETURN_IF_ERROR(ReadFlag(file, "tokenizer.ggml.add_eos_token", &vocab.add_eos));
  RETURN_IF_ERROR(ReadFlag(file, "tokenizer.ggml.add_space_prefix", &vocab.add_space_prefix));
  if (vocab.bos_id == kNoToken) vocab.add_bos = false;
  if (vocab.eos_id == kNoToken) vocab.add_eos = false;
  ASSIGN_OR_RETURN(
      std::optional<std::string> chat_template,
      Optional<std::string>(file, "tokenizer.chat_template", &gguf::GgufFile::GetString));
  vocab.chat_template = chat_template.value_or("");
  return vocab;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFromGguf(const gguf::GgufFile& file) {
  ASSIGN_OR_RETURN(Vocab vocab, LoadVocabFromGguf(file));
  return Tokenizer::Create(std::move(vocab));
}

absl::StatusOr<std::vector<int32_t>> LoadEndOfGenerationIds(const gguf::GgufFile& file) {
  // The whole vocabulary, merges included, is read and dropped: a one-time cost at worker start
  // that buys the loader's defaults and checks, so workers and router see the same ids.
  ASSIGN_OR_RETURN(Vocab vocab, LoadVocabFromGguf(file));
  return EndOfGenerationIds(vocab);
}

}  // namespace baton::engine::tokenizer
