#include "engine/tokenizer/jinja_lexer.h"

#include <cctype>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace baton::engine::tokenizer::jinja {

absl::StatusOr<std::vector<Segment>> SplitTemplate(std::string_view src) {
  std::vector<Segment> out;
  size_t pos = 0;
  bool strip_next = false;    // "-" at the end of the previous tag
  bool trim_newline = false;  // trim_blocks after a block or comment tag
  while (pos <= src.size()) {
    size_t open = src.find('{', pos);
    while (open != std::string_view::npos && open + 1 < src.size() && src[open + 1] != '{' &&
           src[open + 1] != '%' && src[open + 1] != '#') {
      open = src.find('{', open + 1);
    }
    if (open + 1 >= src.size()) open = std::string_view::npos;
    std::string text(
        src.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos));
    if (strip_next) {
      text.erase(0, text.find_first_not_of(" \t\r\n"));
      if (text.find_first_not_of(" \t\r\n") == std::string::npos) text.clear();
    } else if (trim_newline && !text.empty() && text[0] == '\n') {
      text.erase(0, 1);
    }
    if (open == std::string_view::npos) {
      if (!text.empty()) out.push_back(Segment{Segment::Type::kText, std::move(text)});
      break;
    }
    const char kind = src[open + 1];
    const bool strip_before = open + 2 < src.size() && src[open + 2] == '-';
    if (strip_before) {
      const size_t keep = text.find_last_not_of(" \t\r\n");
      text.erase(keep == std::string::npos ? 0 : keep + 1);
    } else if (kind != '{') {  // lstrip_blocks: blanks between a line start and a block tag
      const size_t line_start = text.find_last_of('\n');
      const size_t from = line_start == std::string::npos ? 0 : line_start + 1;
      if (text.find_first_not_of(" \t", from) == std::string::npos &&
          (line_start != std::string::npos || out.empty() || pos == 0)) {
        text.erase(from);
      }
    }
    if (!text.empty()) out.push_back(Segment{Segment::Type::kText, std::move(text)});
    const char close_char = kind == '{' ? '}' : kind == '%' ? '%' : '#';
    size_t i = open + 2 + (strip_before ? 1 : 0);
    size_t body_end = std::string_view::npos;
    char quote = 0;
    for (; i + 1 < src.size(); ++i) {
      const char c = src[i];
      if (quote) {
        if (c == '\\')
          ++i;
        else if (c == quote)
          quote = 0;
      } else if (kind != '#' && (c == '\'' || c == '"')) {
        quote = c;
      } else if (c == close_char && src[i + 1] == '}') {
        body_end = i;
        break;
      }
    }
    if (body_end == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("unclosed tag at offset ", open));
    }
    strip_next = body_end > open + 2 && src[body_end - 1] == '-';
    const size_t body_begin = open + 2 + (strip_before ? 1 : 0);
    std::string body(src.substr(body_begin, body_end - body_begin - (strip_next ? 1 : 0)));
    trim_newline = kind != '{';
    if (kind == '{') out.push_back(Segment{Segment::Type::kExpression, std::move(body)});
    if (kind == '%') out.push_back(Segment{Segment::Type::kStatement, std::move(body)});
    pos = body_end + 2;
  }
  return out;
}
absl::StatusOr<std::vector<Token>> TokenizeExpression(std::string_view src) {
  std::vector<Token> toks;
  size_t i = 0;
  auto is_name = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  while (i < src.size()) {
    const char c = src[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '\'' || c == '"') {
      std::string s;
      size_t j = i + 1;
      for (; j < src.size() && src[j] != c; ++j) {
        if (src[j] == '\\' && j + 1 < src.size()) {
          const char e = src[++j];
          s.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
        } else {
          s.push_back(src[j]);
        }
      }
      if (j >= src.size()) return absl::InvalidArgumentError("unterminated string literal");
      toks.push_back(Token{TokenKind::kString, std::move(s)});
      i = j + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
      if (j + 1 < src.size() && src[j] == '.' &&
          std::isdigit(static_cast<unsigned char>(src[j + 1]))) {
        ++j;
        while (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
        toks.push_back(Token{TokenKind::kFloat, std::string(src.substr(i, j - i)), 0,
                             std::strtod(std::string(src.substr(i, j - i)).c_str(), nullptr)});
      } else {
        toks.push_back(Token{TokenKind::kInt, std::string(src.substr(i, j - i)),
                             std::strtoll(std::string(src.substr(i, j - i)).c_str(), nullptr, 10)});
      }
      i = j;
    } else if (is_name(c)) {
      size_t j = i;
      while (j < src.size() && is_name(src[j])) ++j;
      toks.push_back(Token{TokenKind::kName, std::string(src.substr(i, j - i))});
      i = j;
    } else {
      static constexpr std::string_view kTwo[] = {"==", "!=", "<=", ">=", "//", "**"};
      std::string op(1, c);
      for (std::string_view two : kTwo) {
        if (src.substr(i, 2) == two) op = std::string(two);
      }
      if (std::string_view("=!<>+-*/%~()[]{}.,:|").find(c) == std::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected character '", op, "'"));
      }
      toks.push_back(Token{TokenKind::kOp, op});
      i += op.size();
    }
  }
  toks.push_back(Token{TokenKind::kEnd, ""});
  return toks;
}
}  // namespace baton::engine::tokenizer::jinja
