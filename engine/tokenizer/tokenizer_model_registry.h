// The factory that picks a tokenizer algorithm. One table maps each supported GGUF
// `tokenizer.ggml.model` value to its VocabKind and to the TokenizerModel implementation for
// that kind; adding an algorithm is one entry here and its class.
//
//   "llama" -> VocabKind::kSentencePiece -> SentencePieceModel
//   "gpt2"  -> VocabKind::kBytePairBpe   -> ByteLevelBpeModel
//
// The other GGUF values ("bert" WordPiece, "t5" Unigram, "rwkv", "none") are not supported: no
// architecture the engine runs (llama, mistral, qwen2, qwen3, gemma2/3, phi3) uses them.
//
// Stateless; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/indexed_vocab.h"
#include "engine/tokenizer/tokenizer_model.h"
#include "engine/tokenizer/vocab.h"

namespace baton::engine::tokenizer {

// The kind a `tokenizer.ggml.model` value names. kUnimplemented naming the value (and the
// supported ones) for any other.
absl::StatusOr<VocabKind> VocabKindForModelName(std::string_view model_name);

// Every `tokenizer.ggml.model` value VocabKindForModelName accepts, sorted.
std::vector<std::string> SupportedTokenizerModels();

// The algorithm for `vocab.vocab().kind`, reading `vocab` (which must outlive it). Errors: those
// of the algorithm's factory (a bad BPE merge, an unknown pre-tokenizer); kInvalidArgument for a
// kind outside the enum.
absl::StatusOr<std::unique_ptr<TokenizerModel>> CreateTokenizerModel(const IndexedVocab& vocab);

}  // namespace baton::engine::tokenizer
