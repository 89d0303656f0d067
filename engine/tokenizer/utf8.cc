#include "engine/tokenizer/utf8.h"

#include <array>

namespace baton::engine::tokenizer {
namespace {

bool IsContinuation(uint8_t byte) { return (byte & 0xC0) == 0x80; }

// Expected sequence length from a lead byte, 0 when the byte can not start a sequence.
size_t LeadLength(uint8_t byte) {
  if (byte < 0x80) return 1;
  if (byte >= 0xC2 && byte <= 0xDF) return 2;
  if (byte >= 0xE0 && byte <= 0xEF) return 3;
  if (byte >= 0xF0 && byte <= 0xF4) return 4;
  return 0;
}

// Whether `second` is a legal second byte after `lead` (rules out overlongs, surrogates and
// code points above U+10FFFF).
bool ValidSecond(uint8_t lead, uint8_t second) {
  if (!IsContinuation(second)) return false;
  if (lead == 0xE0) return second >= 0xA0;
  if (lead == 0xED) return second <= 0x9F;
  if (lead == 0xF0) return second >= 0x90;
  if (lead == 0xF4) return second <= 0x8F;
  return true;
}

struct ByteLevelTables {
  std::array<std::string, 256> byte_to_text;
  std::array<int16_t, 512> code_point_to_byte;  // every mapped code point is below 512

  ByteLevelTables() {
    code_point_to_byte.fill(-1);
    // Printable Latin-1 bytes keep their own code point; the rest are moved to 256 + n in
    // byte order, which keeps the alphabet free of whitespace and control characters.
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const int cp = printable ? b : next++;
      AppendUtf8(static_cast<uint32_t>(cp), &byte_to_text[b]);
      code_point_to_byte[cp] = static_cast<int16_t>(b);
    }
  }
};

const ByteLevelTables& Tables() {
  static const ByteLevelTables* tables = new ByteLevelTables();
  return *tables;
}

}  // namespace

size_t Utf8SequenceLength(std::string_view text, size_t pos) {
  const uint8_t lead = static_cast<uint8_t>(text[pos]);
  const size_t len = LeadLength(lead);
  if (len <= 1 || pos + len > text.size()) return 1;
  if (!ValidSecond(lead, static_cast<uint8_t>(text[pos + 1]))) return 1;
  for (size_t i = 2; i < len; ++i) {
    if (!IsContinuation(static_cast<uint8_t>(text[pos + i]))) return 1;
  }
  return len;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t IncompleteUtf8Suffix(std::string_view text) {
  // Walk back over at most three continuation bytes to the candidate lead byte.
  const size_t n = text.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const uint8_t byte = static_cast<uint8_t>(text[n - back]);
    if (IsContinuation(byte)) continue;
    const size_t len = LeadLength(byte);
    if (len <= back) return 0;  // ASCII, complete sequence, or invalid lead: nothing to hold
    if (back >= 2 && !ValidSecond(byte, static_cast<uint8_t>(text[n - back + 1]))) return 0;
    return back;
  }
  return 0;
}

std::string_view ByteToUnicode(uint8_t byte) { return Tables().byte_to_text[byte]; }

void AppendByteLevel(std::string_view bytes, std::string* out) {
  const ByteLevelTables& tables = Tables();
  for (char c : bytes) out->append(tables.byte_to_text[static_cast<uint8_t>(c)]);
}

bool DecodeByteLevel(std::string_view text, std::string* out) {
  const ByteLevelTables& tables = Tables();
  size_t pos = 0;
  while (pos < text.size()) {
    const uint8_t lead = static_cast<uint8_t>(text[pos]);
    uint32_t cp;
    size_t len;
    if (lead < 0x80) {
      cp = lead;
      len = 1;
    } else if ((lead & 0xE0) == 0xC0 && pos + 1 < text.size()) {
      cp = ((lead & 0x1Fu) << 6) | (static_cast<uint8_t>(text[pos + 1]) & 0x3Fu);
      len = 2;
    } else {
      return false;  // every alphabet code point is below U+0800
    }
    if (cp >= tables.code_point_to_byte.size() || tables.code_point_to_byte[cp] < 0) return false;
    out->push_back(static_cast<char>(tables.code_point_to_byte[cp]));
    pos += len;
  }
  return true;
}

}  // namespace baton::engine::tokenizer
