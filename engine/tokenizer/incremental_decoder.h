// Streaming detokenization: turns generated token ids into text one id at a time without ever
// emitting part of a multi-byte UTF-8 character (byte-fallback tokens and byte-level BPE tokens
// can split one), and with the same SentencePiece leading-space handling as Tokenizer::Decode.
// The concatenation of every Feed() result and the final Flush() equals
// tokenizer.Decode(ids, options) byte for byte.
//
// Not thread-safe: one decoder per stream, used from one thread at a time. The Tokenizer must
// outlive the decoder.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tokenizer/tokenizer.h"

namespace baton::engine::tokenizer {

class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer* tokenizer, DecodeOptions options = {})
      : tokenizer_(tokenizer), options_(options) {}

  // Adds `id` and returns the text that became complete (possibly empty). Bytes that may start
  // a UTF-8 character still missing its continuation bytes are held back. Out-of-range ids
  // contribute nothing.
  std::string Feed(int32_t id);

  // Returns whatever is still held back (an incomplete UTF-8 sequence at the end of the
  // stream, emitted as is) and resets the decoder for a new stream.
  std::string Flush();

  // Bytes currently held back.
  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  DecodeOptions options_;
  bool at_start_ = true;
  std::string pending_;
};

}  // namespace baton::engine::tokenizer
