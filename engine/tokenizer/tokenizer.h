// Text <-> token ids for the vocabulary kinds GGUF models carry. A Tokenizer is a vocabulary
// (IndexedVocab, indexed_vocab.h) plus one algorithm chosen by its kind
// (tokenizer_model_registry.h): SentencePiece-style (`tokenizer.ggml.model = llama`, score-ordered
// merges, byte fallback, space prefix; sentencepiece_model.h) or byte-level BPE (`gpt2`,
// rank-ordered merges over the GPT-2 byte alphabet after a regex pre-tokenizer chosen by
// `tokenizer.ggml.pre`; byte_level_bpe_model.h). The Tokenizer itself owns what every algorithm
// shares: BOS/EOS, special-token text in the input (special_token_matcher.h), decoding by
// per-token pieces and the end-of-generation ids.
//
// Typical use (the router):
//   ASSIGN_OR_RETURN(auto file, gguf::GgufFile::Open(path));
//   ASSIGN_OR_RETURN(Vocab vocab, LoadVocabFromGguf(*file));          // gguf_vocab.h
//   ASSIGN_OR_RETURN(auto tokenizer, Tokenizer::Create(vocab));
//   ASSIGN_OR_RETURN(auto chat, ChatTemplate::Create(vocab.chat_template,   // chat_template.h
//       std::string(tokenizer->TokenText(tokenizer->bos_id())),
//       std::string(tokenizer->TokenText(tokenizer->eos_id()))));
//   ASSIGN_OR_RETURN(std::string prompt, chat->Render(messages, true));
//   ASSIGN_OR_RETURN(auto ids, tokenizer->Encode(prompt, {.add_special = false,
//                                                         .parse_special = true}));
//   IncrementalDecoder stream(tokenizer.get(), {.strip_space_prefix = false});  // per request
//
// Thread-safe after Create: every method is const (scratch buffers are thread_local).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/indexed_vocab.h"
#include "engine/tokenizer/special_token_matcher.h"
#include "engine/tokenizer/tokenizer_model.h"
#include "engine/tokenizer/vocab.h"

namespace baton::engine::tokenizer {

struct EncodeOptions {
  // Add BOS/EOS as the vocabulary's add_bos/add_eos flags say. Off for text that continues a
  // sequence or that already holds BOS text (a rendered chat template, with parse_special).
  bool add_special = true;
  // Recognize control-token text (e.g. "<|im_start|>") in the input as those tokens. Off for
  // user text, where such text is encoded as plain characters. User-defined tokens are always
  // recognized, as in Hugging Face tokenizers.
  bool parse_special = false;
};

struct DecodeOptions {
  // Emit the text of control and unknown tokens (BOS, "<|im_end|>", ...) instead of nothing.
  bool render_special = false;
  // SentencePiece vocabularies with a space prefix: drop the leading space of the first
  // non-empty piece, undoing what Encode added. Turn off when decoding a continuation (tokens
  // generated after a prompt), whose leading space is real.
  bool strip_space_prefix = true;
};

class Tokenizer {
 public:
  // Validates `vocab`, builds the lookup tables and the algorithm for `vocab.kind`. Errors:
  // kInvalidArgument for an empty or inconsistent vocabulary (scores/types length mismatch,
  // special id out of range, add_bos or add_eos without the id, a merge that is not
  // "left right"); kUnimplemented for an unknown pre-tokenizer name. When two tokens share a
  // text, lookups find the lower id.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Create(Vocab vocab);

  // Token ids for `text` (any bytes; invalid UTF-8 is encoded through byte tokens).
  // Errors: kInvalidArgument when some input byte has no token, no byte-fallback token and the
  // vocabulary has no unknown token.
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text,
                                              const EncodeOptions& options = {}) const;

  // The bytes `ids` stand for (not necessarily valid UTF-8 when the ids split a character).
  // Ids outside [0, vocab_size()) decode to nothing.
  std::string Decode(std::span<const int32_t> ids, const DecodeOptions& options = {}) const;

  // The bytes one token decodes to on its own (no space-prefix stripping): "▁the" -> " the",
  // "<0x0A>" -> "\n", "Ġthe" -> " the"; control tokens give "" unless render_special.
  // Empty for an out-of-range id.
  const std::string& TokenPiece(int32_t id, bool render_special = false) const;
  // The token's text as stored in the vocabulary (e.g. "▁the", "Ġthe", "<0x0A>").
  std::string_view TokenText(int32_t id) const;
  // Vocabulary type of `id` (kUndefined when out of range).
  TokenType TokenTypeOf(int32_t id) const;
  // Id of a token with exactly this vocabulary text, or kNoToken.
  int32_t FindToken(std::string_view text) const;

  int32_t vocab_size() const { return vocab_.size(); }
  int32_t bos_id() const { return vocab().bos_id; }
  int32_t eos_id() const { return vocab().eos_id; }
  int32_t eot_id() const { return vocab().eot_id; }
  int32_t pad_id() const { return vocab().pad_id; }
  int32_t unk_id() const { return vocab().unk_id; }
  bool add_bos() const { return vocab().add_bos; }
  bool add_eos() const { return vocab().add_eos; }
  // Decode one step: appends the piece of `id` to `out`. `at_start` carries the space-prefix
  // state between calls (start with true); Decode and IncrementalDecoder are built on this.
  void AppendDecoded(int32_t id, const DecodeOptions& options, bool* at_start,
                     std::string* out) const;

  // True for the ids of EndOfGenerationIds(vocab()) (end_of_generation.h): EOS, EOT, EOM and the
  // special tokens spelling a well-known end marker.
  bool IsEndOfGeneration(int32_t id) const;
  const Vocab& vocab() const { return vocab_.vocab(); }

 private:
  explicit Tokenizer(IndexedVocab vocab) : vocab_(std::move(vocab)), specials_(vocab_) {}
  absl::Status Init();

  // Declared first: the matcher and the algorithm keep references to it.
  const IndexedVocab vocab_;
  const SpecialTokenMatcher specials_;
  std::unique_ptr<TokenizerModel> model_;
  std::vector<std::string> pieces_;          // TokenPiece(id, false)
  std::vector<std::string> special_pieces_;  // TokenPiece(id, true)
  std::vector<int32_t> end_of_generation_;   // sorted
};

}  // namespace baton::engine::tokenizer
