// The lexer of the chat-template Jinja interpreter (jinja.h), in two steps: SplitTemplate cuts a
// template into text and the bodies of its {{ }} and {% %} tags (comments dropped, whitespace
// control applied), and TokenizeExpression cuts a tag body into tokens for the parser
// (jinja_parser.h).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace baton::engine::tokenizer::jinja {

struct Segment {
  enum class Type { kText, kExpression, kStatement };
  Type type;
  std::string text;  // kText: the text to output; otherwise the tag body without delimiters
};

// Cuts `source` at its tags. Whitespace control follows Jinja with Hugging Face's settings:
// "-" inside a tag strips the blanks on that side; trim_blocks drops the newline after a block or
// comment tag; lstrip_blocks drops blanks between a line start and a block tag. Text segments are
// never empty. Errors: kInvalidArgument naming the offset of a tag that is never closed.
absl::StatusOr<std::vector<Segment>> SplitTemplate(std::string_view source);

enum class TokenKind { kName, kString, kInt, kFloat, kOp, kEnd };

struct Token {
  TokenKind kind;
  std::string text;  // kString: the unescaped value; otherwise the source text
  int64_t integer = 0;
  double number = 0;
};

// The tokens of an expression or statement body, ending with one kEnd token. Names include
// keywords (if, in, not, ...); operators are one or two characters ("==", "//", "**").
// Errors: kInvalidArgument for an unterminated string literal or an unexpected character.
absl::StatusOr<std::vector<Token>> TokenizeExpression(std::string_view source);

}  // namespace baton::engine::tokenizer::jinja
