#include "engine/tokenizer/tokenizer_model_registry.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/tokenizer/byte_level_bpe_model.h"
#include "engine/tokenizer/sentencepiece_model.h"

namespace baton::engine::tokenizer {
namespace {

struct Algorithm {
  std::string_view model_name;  // `tokenizer.ggml.model`
  VocabKind kind;
  absl::StatusOr<std::unique_ptr<TokenizerModel>> (*create)(const IndexedVocab&);
};

constexpr Algorithm kAlgorithms[] = {
    {"gpt2", VocabKind::kBytePairBpe, &ByteLevelBpeModel::Create},
    {"llama", VocabKind::kSentencePiece, &SentencePieceModel::Create},
};

}  // namespace

absl::StatusOr<VocabKind> VocabKindForModelName(std::string_view model_name) {
  for (const Algorithm& algorithm : kAlgorithms) {
    if (algorithm.model_name == model_name) return algorithm.kind;
  }
  return absl::UnimplementedError(
      absl::StrCat("unsupported tokenizer.ggml.model \"", std::string(model_name),
                   "\" (supported: ", absl::StrJoin(SupportedTokenizerModels(), ", "), ")"));
}

std::vector<std::string> SupportedTokenizerModels() {
  std::vector<std::string> names;
  for (const Algorithm& algorithm : kAlgorithms) names.emplace_back(algorithm.model_name);
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<std::unique_ptr<TokenizerModel>> CreateTokenizerModel(const IndexedVocab& vocab) {
  const VocabKind kind = vocab.vocab().kind;
  for (const Algorithm& algorithm : kAlgorithms) {
    if (algorithm.kind == kind) return algorithm.create(vocab);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("vocabulary kind ", static_cast<int>(kind), " has no tokenizer algorithm"));
}

}  // namespace baton::engine::tokenizer
