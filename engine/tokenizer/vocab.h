// The plain data a tokenizer is built from: tokens, scores, token types, BPE merges, special ids
// and flags, as GGUF `tokenizer.*` metadata carries them. Kept free of any file format so the
// tokenizer can be tested with small hand-built vocabularies. A value type; no threading concerns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace baton::engine::tokenizer {

// `tokenizer.ggml.model`, as VocabKindForModelName (tokenizer_model_registry.h) maps it; each
// kind has one algorithm class (tokenizer_model.h).
enum class VocabKind {
  kSentencePiece,  // "llama": score-driven merges over Unicode characters, byte fallback
  kBytePairBpe,    // "gpt2": rank-driven merges over byte-mapped text, regex pre-tokenizer
};

// `tokenizer.ggml.token_type` values (the GGUF / llama.cpp numbering).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

inline constexpr int32_t kNoToken = -1;

struct Vocab {
  VocabKind kind = VocabKind::kSentencePiece;
  // Token texts, indexed by id. SentencePiece texts use U+2581 for spaces; byte-level BPE texts
  // are in the GPT-2 byte-to-unicode alphabet. Byte-fallback tokens are spelled "<0xNN>".
  std::vector<std::string> tokens;
  // Per-token scores (SentencePiece merge priority; higher merges first). Empty = all zero.
  std::vector<float> scores;
  // Per-token types. Empty = all kNormal.
  std::vector<TokenType> types;
  // BPE merges, "left right", highest priority first (rank = index).
  std::vector<std::string> merges;
  // `tokenizer.ggml.pre`: names the BPE pre-tokenizer regexes. Empty = "default".
  std::string pre;

  int32_t bos_id = kNoToken;
  int32_t eos_id = kNoToken;
  int32_t eot_id = kNoToken;  // end of turn (e.g. <|eot_id|>, <|im_end|>)
  int32_t eom_id = kNoToken;  // end of message (Llama 3.1 <|eom_id|>: a tool call follows)
  int32_t unk_id = kNoToken;
  int32_t pad_id = kNoToken;

  bool add_bos = false;           // prepend BOS when the caller asks for special tokens
  bool add_eos = false;           // append EOS likewise
  bool add_space_prefix = false;  // SentencePiece: prefix the text (and text after a special
                                  // token) with a space; Decode strips it again

  // `tokenizer.chat_template` (Jinja text), possibly empty.
  std::string chat_template;
};

}  // namespace baton::engine::tokenizer
