// Reads a Vocab from a GGUF file's `tokenizer.*` metadata. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/end_of_generation.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/vocab.h"

namespace baton::engine::tokenizer {

// Builds the vocabulary of `file`. Keys read: tokenizer.ggml.{model, pre, tokens, scores,
// token_type, merges, bos_token_id, eos_token_id, eot_token_id, eom_token_id, unknown_token_id,
// padding_token_id, add_bos_token, add_eos_token, add_space_prefix} and tokenizer.chat_template.
// Defaults follow llama.cpp: SentencePiece vocabularies add BOS and a space prefix unless the
// file says otherwise. Errors: kNotFound when tokens or model are missing; kUnimplemented naming
// a tokenizer model other than "llama" / "gpt2" (tokenizer_model_registry.h); kInvalidArgument
// (or the reader's code) for values of the wrong type or arrays of the wrong length.
absl::StatusOr<Vocab> LoadVocabFromGguf(const gguf::GgufFile& file);

// LoadVocabFromGguf then Tokenizer::Create: the tokenizer of `file`, with the errors of both.
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFromGguf(const gguf::GgufFile& file);

// LoadVocabFromGguf then EndOfGenerationIds (end_of_generation.h): the ids that end generation
// for the model in `file`, sorted. What the workers call to learn where to stop; the errors of
// LoadVocabFromGguf (a model without a readable tokenizer has no known end).
absl::StatusOr<std::vector<int32_t>> LoadEndOfGenerationIds(const gguf::GgufFile& file);

}  // namespace baton::engine::tokenizer
