// UTF-8 helpers and the GPT-2 byte-to-unicode alphabet used by byte-level BPE vocabularies.
// Pure functions over immutable tables; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace baton::engine::tokenizer {

// Length in bytes of the UTF-8 sequence starting at text[pos] when it is a complete, valid
// sequence (1..4); 1 for an invalid or truncated sequence, so callers treat that byte alone.
// Precondition: pos < text.size().
size_t Utf8SequenceLength(std::string_view text, size_t pos);

// Appends the UTF-8 encoding of `code_point` (must be <= 0x10FFFF) to `out`.
void AppendUtf8(uint32_t code_point, std::string* out);

// Number of trailing bytes of `text` that form the beginning of a valid multi-byte sequence
// still missing bytes (0..3). Streaming output holds these back until the rest arrives.
size_t IncompleteUtf8Suffix(std::string_view text);

// GPT-2 byte-level alphabet: every byte maps to one printable code point, so any byte string
// becomes valid UTF-8 text. ByteToUnicode(b) is that code point's UTF-8 spelling.
std::string_view ByteToUnicode(uint8_t byte);
// Appends the byte-level spelling of every byte of `bytes` to `out`.
void AppendByteLevel(std::string_view bytes, std::string* out);
// Inverse of AppendByteLevel. Returns false (and leaves `out` partially written) when `text`
// holds a character outside the alphabet.
bool DecodeByteLevel(std::string_view text, std::string* out);

}  // namespace baton::engine::tokenizer
