#include "engine/tokenizer/indexed_vocab.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace baton::engine::tokenizer {

absl::StatusOr<IndexedVocab> IndexedVocab::Create(Vocab vocab) {
  const size_t n = vocab.tokens.size();
  if (n == 0) return absl::InvalidArgumentError("vocabulary has no tokens");
  if (n > static_cast<size_t>(INT32_MAX)) return absl::InvalidArgumentError("vocabulary too big");
  if (vocab.scores.empty()) vocab.scores.assign(n, 0.0f);
  if (vocab.types.empty()) vocab.types.assign(n, TokenType::kNormal);
  if (vocab.scores.size() != n || vocab.types.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("vocabulary has ", n, " tokens but ",
                                                   vocab.scores.size(), " scores and ",
                                                   vocab.types.size(), " token types"));
  }
  for (auto [name, id] : {std::pair{"bos", vocab.bos_id},
                          {"eos", vocab.eos_id},
                          {"eot", vocab.eot_id},
                          {"eom", vocab.eom_id},
                          {"unk", vocab.unk_id},
                          {"pad", vocab.pad_id}}) {
    if (id != kNoToken && (id < 0 || static_cast<size_t>(id) >= n)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " token id ", id, " is outside the vocabulary of ", n));
    }
  }
  if ((vocab.add_bos && vocab.bos_id == kNoToken) || (vocab.add_eos && vocab.eos_id == kNoToken)) {
    return absl::InvalidArgumentError("add_bos/add_eos set without a BOS/EOS token id");
  }
  IndexedVocab indexed(std::move(vocab));
  indexed.token_to_id_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    indexed.token_to_id_.emplace(indexed.vocab_.tokens[i], static_cast<int32_t>(i));
  }
  return indexed;
}

std::string_view IndexedVocab::TokenText(int32_t id) const {
  if (id < 0 || id >= size()) return {};
  return vocab_.tokens[id];
}

TokenType IndexedVocab::TokenTypeOf(int32_t id) const {
  if (id < 0 || id >= size()) return TokenType::kUndefined;
  return vocab_.types[id];
}

}  // namespace baton::engine::tokenizer
