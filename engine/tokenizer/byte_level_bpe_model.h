// Byte-level BPE tokenization (`tokenizer.ggml.model = gpt2`: Llama 3, Qwen2/3, Mistral Nemo):
// the pre-tokenizer that `tokenizer.ggml.pre` names splits the text into words; each word is
// spelled in the GPT-2 byte alphabet and its characters merge pairwise, lowest merge rank first.
// Pieces left without a token fall back to byte tokens.
//
// Two merge paths give the same ids: over token ids (when every byte and every merge result is a
// token, as in real vocabularies: no strings built per merge) and over text (any vocabulary).
//
// Thread-safe after Create (see tokenizer_model.h); scratch buffers are thread_local.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/tokenizer/byte_tokens.h"
#include "engine/tokenizer/indexed_vocab.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/tokenizer_model.h"

namespace baton::engine::tokenizer {

class ByteLevelBpeModel final : public TokenizerModel {
 public:
  // The algorithm over `vocab`, which must outlive it. Errors: kInvalidArgument for a merge that
  // is not "left right"; kUnimplemented for an unknown `pre` name; kInvalidArgument if its
  // regexes do not compile.
  static absl::StatusOr<std::unique_ptr<TokenizerModel>> Create(const IndexedVocab& vocab);

  absl::Status Encode(std::string_view text, bool after_special,
                      std::vector<int32_t>* out) const override;
  std::string TokenBytes(std::string_view text, TokenType type) const override;

 private:
  explicit ByteLevelBpeModel(const IndexedVocab& vocab);
  absl::Status Init();

  absl::Status EncodeWord(std::string_view word, std::vector<int32_t>* out) const;
  // The id path; valid only when by_id_.
  void EncodeWordById(std::string_view word, std::vector<int32_t>* out) const;
  // Rank of the merge "left right", or -1.
  int32_t Rank(std::string_view left, std::string_view right) const;

  const IndexedVocab& vocab_;
  ByteTokens bytes_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  absl::flat_hash_map<std::string, int32_t> merge_rank_;  // key "left right"
  struct IdMerge {
    int32_t rank;
    int32_t merged_id;
  };
  // (left id << 32 | right id) -> merge; filled only when by_id_.
  absl::flat_hash_map<uint64_t, IdMerge> id_merges_;
  bool by_id_ = false;
};

}  // namespace baton::engine::tokenizer
