// Text <-> token ids for the two vocabulary kinds GGUF models carry: SentencePiece-style
// (`tokenizer.ggml.model = llama`: score-ordered merges, byte fallback, space prefix) and
// byte-level BPE (`gpt2`: rank-ordered merges over the GPT-2 byte alphabet after a regex
// pre-tokenizer chosen by `tokenizer.ggml.pre`).
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

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/tokenizer/pre_tokenizer.h"
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
  // Validates `vocab` and builds the lookup tables. Errors: kInvalidArgument for an empty or
  // inconsistent vocabulary (scores/types length mismatch, special id out of range, add_bos or
  // add_eos without the id, a merge that is not "left right"); kUnimplemented for an unknown
  // pre-tokenizer name. When two tokens share a text, lookups find the lower id.
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

  int32_t vocab_size() const { return static_cast<int32_t>(vocab_.tokens.size()); }
  int32_t bos_id() const { return vocab_.bos_id; }
  int32_t eos_id() const { return vocab_.eos_id; }
  int32_t eot_id() const { return vocab_.eot_id; }
  int32_t pad_id() const { return vocab_.pad_id; }
  int32_t unk_id() const { return vocab_.unk_id; }
  bool add_bos() const { return vocab_.add_bos; }
  bool add_eos() const { return vocab_.add_eos; }
  // Decode one step: appends the piece of `id` to `out`. `at_start` carries the space-prefix
  // state between calls (start with true); Decode and IncrementalDecoder are built on this.
  void AppendDecoded(int32_t id, const DecodeOptions& options, bool* at_start,
                     std::string* out) const;

  // True for the ids of EndOfGenerationIds(vocab()) (end_of_generation.h): EOS, EOT, EOM and the
  // special tokens spelling a well-known end marker.
  bool IsEndOfGeneration(int32_t id) const;
  const Vocab& vocab() const { return vocab_; }

 private:
  explicit Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}
  absl::Status Init();

  // Encodes text that holds no special-token text.
  absl::Status EncodeRaw(std::string_view text, bool after_special,
                         std::vector<int32_t>* out) const;
  absl::Status EncodeSentencePiece(std::string_view text, std::vector<int32_t>* out) const;
  absl::Status EncodeSentencePieceWord(std::string_view word, std::vector<int32_t>* out) const;
  absl::Status EncodeBpeWord(std::string_view word, std::vector<int32_t>* out) const;
  // Fast path over token ids, valid when every byte and every merge result is a token.
  void EncodeBpeWordById(std::string_view word, std::vector<int32_t>* out) const;
  // Token for one raw byte (byte-fallback token, else the byte as text, else unk).
  absl::Status PushByte(uint8_t byte, std::vector<int32_t>* out) const;
  int32_t BpeRank(std::string_view left, std::string_view right) const;

  Vocab vocab_;
  absl::flat_hash_map<std::string, int32_t> token_to_id_;
  absl::flat_hash_map<std::string, int32_t> merge_rank_;  // key "left right"
  struct IdMerge {
    int32_t rank;
    int32_t merged_id;
  };
  // (left id << 32 | right id) -> merge; filled only when bpe_by_id_.
  absl::flat_hash_map<uint64_t, IdMerge> id_merges_;
  bool bpe_by_id_ = false;
  std::vector<int32_t> byte_tokens_;  // 256 entries, kNoToken if missing
  // Special-token text lookup (control, user-defined and unknown tokens): by the first two
  // bytes for texts of two or more bytes, by the byte for one-byte texts; longest text first.
  int32_t MatchSpecial(std::string_view text, size_t pos, bool parse_special) const;
  std::vector<bool> special_first_byte_;
  absl::flat_hash_map<uint16_t, std::vector<int32_t>> special_by_prefix_;
  std::vector<std::vector<int32_t>> special_single_byte_;
  std::vector<std::string> pieces_;          // TokenPiece(id, false)
  std::vector<std::string> special_pieces_;  // TokenPiece(id, true)
  std::vector<int32_t> end_of_generation_;   // sorted
  // SentencePiece: no token has U+2581 right after another character, so merges never cross
  // the start of a "▁word" and each word can be merged on its own (small, cache-friendly
  // queues instead of one queue over the whole text).
  bool spm_split_at_spaces_ = false;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;  // byte-level BPE only
};

}  // namespace baton::engine::tokenizer
