#include "engine/tokenizer/jinja.h"

#include <cmath>
#include <cstdio>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace baton::engine::tokenizer {

using Kind = JinjaValue::Kind;

JinjaValue JinjaValue::None() {
  JinjaValue v;
  v.kind = Kind::kNone;
  return v;
}
JinjaValue JinjaValue::Bool(bool b) {
  JinjaValue v;
  v.kind = Kind::kBool;
  v.boolean = b;
  return v;
}
JinjaValue JinjaValue::Int(int64_t i) {
  JinjaValue v;
  v.kind = Kind::kInt;
  v.integer = i;
  return v;
}
JinjaValue JinjaValue::Float(double f) {
  JinjaValue v;
  v.kind = Kind::kFloat;
  v.number = f;
  return v;
}
JinjaValue JinjaValue::String(std::string s) {
  JinjaValue v;
  v.kind = Kind::kString;
  v.string = std::move(s);
  return v;
}
JinjaValue JinjaValue::NewArray(Array items) {
  JinjaValue v;
  v.kind = Kind::kArray;
  v.array = std::make_shared<Array>(std::move(items));
  return v;
}
JinjaValue JinjaValue::NewObject(Object fields) {
  JinjaValue v;
  v.kind = Kind::kObject;
  v.object = std::make_shared<Object>(std::move(fields));
  return v;
}

const JinjaValue* JinjaValue::Find(std::string_view key) const {
  if (kind != Kind::kObject) return nullptr;
  for (const auto& [k, v] : *object) {
    if (k == key) return &v;
  }
  return nullptr;
}

void JinjaValue::Set(const std::string& key, JinjaValue value) {
  for (auto& [k, v] : *object) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  object->emplace_back(key, std::move(value));
}

namespace {

using Value = JinjaValue;

// ---------------------------------------------------------------- expression tokens

enum class TokKind { kName, kString, kInt, kFloat, kOp, kEnd };

struct Tok {
  TokKind kind;
  std::string text;
  int64_t integer = 0;
  double number = 0;
};

absl::StatusOr<std::vector<Tok>> Tokenize(std::string_view src) {
  std::vector<Tok> toks;
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
      toks.push_back(Tok{TokKind::kString, std::move(s)});
      i = j + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
      if (j + 1 < src.size() && src[j] == '.' &&
          std::isdigit(static_cast<unsigned char>(src[j + 1]))) {
        ++j;
        while (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
        toks.push_back(Tok{TokKind::kFloat, std::string(src.substr(i, j - i)), 0,
                           std::strtod(std::string(src.substr(i, j - i)).c_str(), nullptr)});
      } else {
        toks.push_back(Tok{TokKind::kInt, std::string(src.substr(i, j - i)),
                           std::strtoll(std::string(src.substr(i, j - i)).c_str(), nullptr, 10)});
      }
      i = j;
    } else if (is_name(c)) {
      size_t j = i;
      while (j < src.size() && is_name(src[j])) ++j;
      toks.push_back(Tok{TokKind::kName, std::string(src.substr(i, j - i))});
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
      toks.push_back(Tok{TokKind::kOp, op});
      i += op.size();
    }
  }
  toks.push_back(Tok{TokKind::kEnd, ""});
  return toks;
}

// ---------------------------------------------------------------- expressions

enum class ExprKind {
  kLiteral,
  kVar,
  kAttr,
  kIndex,
  kSlice,
  kCall,
  kFilter,
  kTest,
  kNot,
  kNeg,
  kBinary,
  kAnd,
  kOr,
  kCond,
  kList,
  kDict,
};

struct Expr {
  ExprKind kind;
  Value literal;
  std::string name;  // variable / attribute / filter / test / operator
  bool negate = false;
  std::vector<std::unique_ptr<Expr>> kids;  // nullptr allowed for omitted slice bounds
  std::vector<std::string> kwarg_names;     // call/filter: names of the trailing kids
};

using ExprPtr = std::unique_ptr<Expr>;

ExprPtr MakeExpr(ExprKind kind) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  return e;
}

class ExprParser {
 public:
  explicit ExprParser(std::vector<Tok> toks) : toks_(std::move(toks)) {}

  const Tok& Peek(size_t ahead = 0) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  bool AtEnd() const { return Peek().kind == TokKind::kEnd; }
  bool IsOp(std::string_view op) const { return Peek().kind == TokKind::kOp && Peek().text == op; }
  bool IsName(std::string_view n) const {
    return Peek().kind == TokKind::kName && Peek().text == n;
  }
  bool Accept(std::string_view op) {
    if ((Peek().kind == TokKind::kOp || Peek().kind == TokKind::kName) && Peek().text == op) {
      ++pos_;
      return true;
    }
    return false;
  }
  absl::Status Expect(std::string_view op) {
    if (Accept(op)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("expected '", std::string(op), "' but found '", Peek().text, "'"));
  }
  absl::StatusOr<std::string> Name() {
    if (Peek().kind != TokKind::kName) {
      return absl::InvalidArgumentError(absl::StrCat("expected a name, found '", Peek().text, "'"));
    }
    return toks_[pos_++].text;
  }

  // expr := or ("if" or ("else" expr)?)?
  absl::StatusOr<ExprPtr> Parse() {
    ASSIGN_OR_RETURN(ExprPtr value, ParseOr());
    if (IsName("if")) {
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr cond, ParseOr());
      auto e = MakeExpr(ExprKind::kCond);
      e->kids.push_back(std::move(value));
      e->kids.push_back(std::move(cond));
      if (Accept("else")) {
        ASSIGN_OR_RETURN(ExprPtr other, Parse());
        e->kids.push_back(std::move(other));
      }
      return e;
    }
    return value;
  }

  absl::StatusOr<ExprPtr> ParseOr() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
    while (IsName("or")) {
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
      left = Binary(ExprKind::kOr, "or", std::move(left), std::move(right));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseAnd() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
    while (IsName("and")) {
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
      left = Binary(ExprKind::kAnd, "and", std::move(left), std::move(right));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseNot() {
    if (IsName("not")) {
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr inner, ParseNot());
      auto e = MakeExpr(ExprKind::kNot);
      e->kids.push_back(std::move(inner));
      return e;
    }
    return ParseCompare();
  }

  absl::StatusOr<ExprPtr> ParseCompare() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
    while (true) {
      std::string op;
      if (Peek().kind == TokKind::kOp &&
          (Peek().text == "==" || Peek().text == "!=" || Peek().text == "<" || Peek().text == ">" ||
           Peek().text == "<=" || Peek().text == ">=")) {
        op = toks_[pos_++].text;
      } else if (IsName("in")) {
        ++pos_;
        op = "in";
      } else if (IsName("not") && Peek(1).kind == TokKind::kName && Peek(1).text == "in") {
        pos_ += 2;
        op = "not in";
      } else if (IsName("is")) {
        ++pos_;
        auto e = MakeExpr(ExprKind::kTest);
        e->negate = Accept("not");
        ASSIGN_OR_RETURN(e->name, Name());
        e->kids.push_back(std::move(left));
        if (IsOp("(")) {
          RETURN_IF_ERROR(ParseArgs(e.get()));
        } else if (!AtEnd() && Peek().kind != TokKind::kOp && !IsName("and") && !IsName("or") &&
                   !IsName("else") && !IsName("if")) {
          ASSIGN_OR_RETURN(ExprPtr arg, ParseConcat());  // `is equalto x`
          e->kids.push_back(std::move(arg));
        }
        left = std::move(e);
        continue;
      } else {
        return left;
      }
      ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
      left = Binary(ExprKind::kBinary, op, std::move(left), std::move(right));
    }
  }

  absl::StatusOr<ExprPtr> ParseConcat() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseAdd());
    while (IsOp("~")) {
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr right, ParseAdd());
      left = Binary(ExprKind::kBinary, "~", std::move(left), std::move(right));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseAdd() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseMul());
    while (IsOp("+") || IsOp("-")) {
      const std::string op = toks_[pos_++].text;
      ASSIGN_OR_RETURN(ExprPtr right, ParseMul());
      left = Binary(ExprKind::kBinary, op, std::move(left), std::move(right));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseMul() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseUnary());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const std::string op = toks_[pos_++].text;
      ASSIGN_OR_RETURN(ExprPtr right, ParseUnary());
      left = Binary(ExprKind::kBinary, op, std::move(left), std::move(right));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseUnary() {
    if (IsOp("-")) {
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr inner, ParseUnary());
      auto e = MakeExpr(ExprKind::kNeg);
      e->kids.push_back(std::move(inner));
      return e;
    }
    if (IsOp("+")) ++pos_;
    return ParsePostfix();
  }

  absl::StatusOr<ExprPtr> ParsePostfix() {
    ASSIGN_OR_RETURN(ExprPtr e, ParsePrimary());
    while (true) {
      if (Accept(".")) {
        auto a = MakeExpr(ExprKind::kAttr);
        ASSIGN_OR_RETURN(a->name, Name());
        a->kids.push_back(std::move(e));
        e = std::move(a);
      } else if (IsOp("[")) {
        ++pos_;
        ExprPtr start, stop, step;
        bool slice = false;
        if (!IsOp(":")) {
          ASSIGN_OR_RETURN(start, Parse());
        }
        if (Accept(":")) {
          slice = true;
          if (!IsOp(":") && !IsOp("]")) {
            ASSIGN_OR_RETURN(stop, Parse());
          }
          if (Accept(":") && !IsOp("]")) {
            ASSIGN_OR_RETURN(step, Parse());
          }
        }
        RETURN_IF_ERROR(Expect("]"));
        auto x = MakeExpr(slice ? ExprKind::kSlice : ExprKind::kIndex);
        x->kids.push_back(std::move(e));
        x->kids.push_back(std::move(start));
        if (slice) {
          x->kids.push_back(std::move(stop));
          x->kids.push_back(std::move(step));
        }
        e = std::move(x);
      } else if (IsOp("(")) {
        auto call = MakeExpr(ExprKind::kCall);
        call->kids.push_back(std::move(e));
        RETURN_IF_ERROR(ParseArgs(call.get()));
        e = std::move(call);
      } else if (IsOp("|")) {
        ++pos_;
        auto f = MakeExpr(ExprKind::kFilter);
        ASSIGN_OR_RETURN(f->name, Name());
        f->kids.push_back(std::move(e));
        if (IsOp("(")) RETURN_IF_ERROR(ParseArgs(f.get()));
        e = std::move(f);
      } else {
        return e;
      }
    }
  }

  // "(" args ")" appended to e->kids; keyword arguments last, named in kwarg_names.
  absl::Status ParseArgs(Expr* e) {
    RETURN_IF_ERROR(Expect("("));
    while (!Accept(")")) {
      if (Peek().kind == TokKind::kName && Peek(1).kind == TokKind::kOp && Peek(1).text == "=") {
        e->kwarg_names.push_back(toks_[pos_].text);
        pos_ += 2;
      } else if (!e->kwarg_names.empty()) {
        return absl::InvalidArgumentError("positional argument after keyword argument");
      }
      ASSIGN_OR_RETURN(ExprPtr arg, Parse());
      e->kids.push_back(std::move(arg));
      if (!IsOp(")")) RETURN_IF_ERROR(Expect(","));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<ExprPtr> ParsePrimary() {
    const Tok& t = Peek();
    auto lit = MakeExpr(ExprKind::kLiteral);
    switch (t.kind) {
      case TokKind::kString: {
        std::string s = t.text;
        ++pos_;
        while (Peek().kind == TokKind::kString) s += toks_[pos_++].text;  // adjacent literals
        lit->literal = Value::String(std::move(s));
        return lit;
      }
      case TokKind::kInt:
        lit->literal = Value::Int(t.integer);
        ++pos_;
        return lit;
      case TokKind::kFloat:
        lit->literal = Value::Float(t.number);
        ++pos_;
        return lit;
      case TokKind::kName: {
        const std::string n = t.text;
        ++pos_;
        if (n == "true" || n == "True")
          lit->literal = Value::Bool(true);
        else if (n == "false" || n == "False")
          lit->literal = Value::Bool(false);
        else if (n == "none" || n == "None")
          lit->literal = Value::None();
        else {
          auto v = MakeExpr(ExprKind::kVar);
          v->name = n;
          return v;
        }
        return lit;
      }
      case TokKind::kOp:
        if (Accept("(")) {
          ASSIGN_OR_RETURN(ExprPtr inner, Parse());
          if (IsOp(",")) {  // a tuple: treat as a list
            auto list = MakeExpr(ExprKind::kList);
            list->kids.push_back(std::move(inner));
            while (Accept(",") && !IsOp(")")) {
              ASSIGN_OR_RETURN(ExprPtr item, Parse());
              list->kids.push_back(std::move(item));
            }
            inner = std::move(list);
          }
          RETURN_IF_ERROR(Expect(")"));
          return inner;
        }
        if (Accept("[")) {
          auto list = MakeExpr(ExprKind::kList);
          while (!Accept("]")) {
            ASSIGN_OR_RETURN(ExprPtr item, Parse());
            list->kids.push_back(std::move(item));
            if (!IsOp("]")) RETURN_IF_ERROR(Expect(","));
          }
          return list;
        }
        if (Accept("{")) {
          auto dict = MakeExpr(ExprKind::kDict);
          while (!Accept("}")) {
            ASSIGN_OR_RETURN(ExprPtr key, Parse());
            RETURN_IF_ERROR(Expect(":"));
            ASSIGN_OR_RETURN(ExprPtr value, Parse());
            dict->kids.push_back(std::move(key));
            dict->kids.push_back(std::move(value));
            if (!IsOp("}")) RETURN_IF_ERROR(Expect(","));
          }
          return dict;
        }
        break;
      case TokKind::kEnd:
        break;
    }
    return absl::InvalidArgumentError(absl::StrCat("unexpected '", t.text, "' in expression"));
  }

  static ExprPtr Binary(ExprKind kind, std::string op, ExprPtr l, ExprPtr r) {
    auto e = MakeExpr(kind);
    e->name = std::move(op);
    e->kids.push_back(std::move(l));
    e->kids.push_back(std::move(r));
    return e;
  }

 private:
  std::vector<Tok> toks_;
  size_t pos_ = 0;
};

}  // namespace

// ---------------------------------------------------------------- statements

struct JinjaTemplate::Node {
  enum class Type { kText, kOutput, kIf, kFor, kSet };
  Type type;
  std::string text;
  std::unique_ptr<Expr> expr;  // output value, for iterable, set value
  // kIf: (condition or nullptr for else, body) in order.
  std::vector<std::pair<std::unique_ptr<Expr>, std::vector<Node>>> branches;
  // kFor
  std::vector<std::string> loop_vars;
  std::unique_ptr<Expr> filter;
  std::vector<Node> body;
  std::vector<Node> else_body;
  // kSet: target variable and optional attribute (ns.attr = ...)
  std::string target;
  std::string attribute;
};

namespace {

using Node = JinjaTemplate::Node;

struct Segment {
  enum class Type { kText, kExpr, kStmt } type;
  std::string text;
};

absl::StatusOr<std::vector<Segment>> Split(std::string_view src) {
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
    if (kind == '{') out.push_back(Segment{Segment::Type::kExpr, std::move(body)});
    if (kind == '%') out.push_back(Segment{Segment::Type::kStmt, std::move(body)});
    pos = body_end + 2;
  }
  return out;
}

absl::StatusOr<ExprPtr> ParseFull(ExprParser& p) {
  ASSIGN_OR_RETURN(ExprPtr e, p.Parse());
  if (!p.AtEnd()) {
    return absl::InvalidArgumentError(absl::StrCat("unexpected '", p.Peek().text, "'"));
  }
  return e;
}

class StmtParser {
 public:
  explicit StmtParser(std::vector<Segment> segs) : segs_(std::move(segs)) {}

  // Parses nodes until a statement whose keyword is in `ends` (returned in *end_keyword with
  // its parser positioned after the keyword) or the end of input (only when ends is empty).
  absl::Status ParseBlock(const std::vector<std::string>& ends, std::vector<Node>* nodes,
                          std::string* end_keyword, std::unique_ptr<ExprParser>* end_parser) {
    while (pos_ < segs_.size()) {
      Segment& seg = segs_[pos_++];
      if (seg.type == Segment::Type::kText) {
        nodes->push_back(Node{Node::Type::kText});
        nodes->back().text = std::move(seg.text);
        continue;
      }
      ASSIGN_OR_RETURN(std::vector<Tok> toks, Tokenize(seg.text));
      auto p = std::make_unique<ExprParser>(std::move(toks));
      if (seg.type == Segment::Type::kExpr) {
        ASSIGN_OR_RETURN(ExprPtr e, ParseFull(*p));
        nodes->push_back(Node{Node::Type::kOutput});
        nodes->back().expr = std::move(e);
        continue;
      }
      ASSIGN_OR_RETURN(std::string keyword, p->Name());
      for (const std::string& end : ends) {
        if (keyword == end) {
          *end_keyword = keyword;
          *end_parser = std::move(p);
          return absl::OkStatus();
        }
      }
      if (keyword == "if") {
        RETURN_IF_ERROR(ParseIf(*p, nodes));
      } else if (keyword == "for") {
        RETURN_IF_ERROR(ParseFor(*p, nodes));
      } else if (keyword == "set") {
        RETURN_IF_ERROR(ParseSet(*p, nodes));
      } else if (keyword.rfind("end", 0) == 0 || keyword == "elif" || keyword == "else") {
        return absl::InvalidArgumentError(absl::StrCat("unexpected {% ", keyword, " %}"));
      } else {
        return absl::UnimplementedError(
            absl::StrCat("chat template statement {% ", keyword, " %} is not supported"));
      }
    }
    if (!ends.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("missing {% ", ends.back(), " %}"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status ParseIf(ExprParser& p, std::vector<Node>* nodes) {
    Node node{Node::Type::kIf};
    ASSIGN_OR_RETURN(ExprPtr cond, ParseFull(p));
    while (true) {
      std::vector<Node> body;
      std::string end;
      std::unique_ptr<ExprParser> next;
      RETURN_IF_ERROR(ParseBlock({"elif", "else", "endif"}, &body, &end, &next));
      node.branches.emplace_back(std::move(cond), std::move(body));
      if (end == "endif") break;
      if (end == "else") {
        std::vector<Node> else_body;
        RETURN_IF_ERROR(ParseBlock({"endif"}, &else_body, &end, &next));
        node.branches.emplace_back(nullptr, std::move(else_body));
        break;
      }
      ASSIGN_OR_RETURN(cond, ParseFull(*next));
    }
    nodes->push_back(std::move(node));
    return absl::OkStatus();
  }

  absl::Status ParseFor(ExprParser& p, std::vector<Node>* nodes) {
    Node node{Node::Type::kFor};
    do {
      ASSIGN_OR_RETURN(std::string var, p.Name());
      node.loop_vars.push_back(std::move(var));
    } while (p.Accept(","));
    RETURN_IF_ERROR(p.Expect("in"));
    ASSIGN_OR_RETURN(node.expr, p.ParseOr());
    if (p.Accept("if")) {
      ASSIGN_OR_RETURN(node.filter, p.ParseOr());
    }
    if (!p.AtEnd()) return absl::InvalidArgumentError("unexpected text in {% for %}");
    std::string end;
    std::unique_ptr<ExprParser> next;
    RETURN_IF_ERROR(ParseBlock({"else", "endfor"}, &node.body, &end, &next));
    if (end == "else") RETURN_IF_ERROR(ParseBlock({"endfor"}, &node.else_body, &end, &next));
    nodes->push_back(std::move(node));
    return absl::OkStatus();
  }

  absl::Status ParseSet(ExprParser& p, std::vector<Node>* nodes) {
    Node node{Node::Type::kSet};
    ASSIGN_OR_RETURN(node.target, p.Name());
    if (p.Accept(".")) {
      ASSIGN_OR_RETURN(node.attribute, p.Name());
    }
    if (!p.IsOp("=")) {
      return absl::UnimplementedError("{% set %} blocks are not supported");
    }
    RETURN_IF_ERROR(p.Expect("="));
    ASSIGN_OR_RETURN(node.expr, ParseFull(p));
    nodes->push_back(std::move(node));
    return absl::OkStatus();
  }

  std::vector<Segment> segs_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------- evaluation

bool Truthy(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return v.boolean;
    case Kind::kInt:
      return v.integer != 0;
    case Kind::kFloat:
      return v.number != 0;
    case Kind::kString:
      return !v.string.empty();
    case Kind::kArray:
      return !v.array->empty();
    case Kind::kObject:
      return !v.object->empty();
  }
  return false;
}

void AppendJsonString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

std::string NumberText(double d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", d);
  std::string s = buf;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

// Python-style text (json = false) or JSON (json = true).
void AppendText(const Value& v, bool json, std::string* out) {
  switch (v.kind) {
    case Kind::kUndefined:
      if (json) *out += "null";
      return;
    case Kind::kNone:
      *out += json ? "null" : "None";
      return;
    case Kind::kBool:
      *out += v.boolean ? (json ? "true" : "True") : (json ? "false" : "False");
      return;
    case Kind::kInt:
      *out += std::to_string(v.integer);
      return;
    case Kind::kFloat:
      *out += NumberText(v.number);
      return;
    case Kind::kString:
      if (json)
        AppendJsonString(v.string, out);
      else
        *out += v.string;
      return;
    case Kind::kArray: {
      out->push_back('[');
      for (size_t i = 0; i < v.array->size(); ++i) {
        if (i) *out += ", ";
        const Value& item = (*v.array)[i];
        if (!json && item.kind == Kind::kString) {
          *out += "'" + item.string + "'";
        } else {
          AppendText(item, json, out);
        }
      }
      out->push_back(']');
      return;
    }
    case Kind::kObject: {
      out->push_back('{');
      bool first = true;
      for (const auto& [k, item] : *v.object) {
        if (!first) *out += ", ";
        first = false;
        if (json)
          AppendJsonString(k, out);
        else
          *out += "'" + k + "'";
        *out += ": ";
        if (!json && item.kind == Kind::kString)
          *out += "'" + item.string + "'";
        else
          AppendText(item, json, out);
      }
      out->push_back('}');
      return;
    }
  }
}

std::string Text(const Value& v) {
  std::string s;
  AppendText(v, false, &s);
  return s;
}

bool Equal(const Value& a, const Value& b) {
  const bool a_num = a.kind == Kind::kInt || a.kind == Kind::kFloat || a.kind == Kind::kBool;
  const bool b_num = b.kind == Kind::kInt || b.kind == Kind::kFloat || b.kind == Kind::kBool;
  if (a_num && b_num) {
    auto num = [](const Value& v) {
      return v.kind == Kind::kFloat ? v.number : v.kind == Kind::kBool ? v.boolean : v.integer;
    };
    return num(a) == num(b);
  }
  if (a.kind != b.kind) {
    return (a.kind == Kind::kNone || a.kind == Kind::kUndefined) &&
           (b.kind == Kind::kNone || b.kind == Kind::kUndefined);
  }
  switch (a.kind) {
    case Kind::kString:
      return a.string == b.string;
    case Kind::kArray:
      if (a.array->size() != b.array->size()) return false;
      for (size_t i = 0; i < a.array->size(); ++i) {
        if (!Equal((*a.array)[i], (*b.array)[i])) return false;
      }
      return true;
    case Kind::kObject:
      return a.object == b.object;
    default:
      return true;
  }
}

absl::Status TypeError(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("chat template type error: ", std::string(what)));
}

std::string Strip(const std::string& s, const std::string& chars, bool left, bool right) {
  size_t b = 0;
  size_t e = s.size();
  while (left && b < e && chars.find(s[b]) != std::string::npos) ++b;
  while (right && e > b && chars.find(s[e - 1]) != std::string::npos) --e;
  return s.substr(b, e - b);
}

class Renderer {
 public:
  explicit Renderer(const Value& context) {
    scopes_.emplace_back();
    if (context.kind == Kind::kObject) {
      for (const auto& [k, v] : *context.object) scopes_.back()[k] = v;
    }
  }

  absl::Status Run(const std::vector<Node>& nodes, std::string* out) {
    for (const Node& node : nodes) {
      switch (node.type) {
        case Node::Type::kText:
          *out += node.text;
          break;
        case Node::Type::kOutput: {
          ASSIGN_OR_RETURN(Value v, Eval(*node.expr));
          AppendText(v, false, out);
          break;
        }
        case Node::Type::kIf:
          for (const auto& [cond, body] : node.branches) {
            bool take = true;
            if (cond) {
              ASSIGN_OR_RETURN(Value c, Eval(*cond));
              take = Truthy(c);
            }
            if (take) {
              RETURN_IF_ERROR(Run(body, out));
              break;
            }
          }
          break;
        case Node::Type::kFor:
          RETURN_IF_ERROR(RunFor(node, out));
          break;
        case Node::Type::kSet: {
          ASSIGN_OR_RETURN(Value v, Eval(*node.expr));
          if (node.attribute.empty()) {
            scopes_.back()[node.target] = std::move(v);
          } else {
            Value target = Lookup(node.target);
            if (target.kind != Kind::kObject)
              return TypeError("set of an attribute of a non-object");
            target.Set(node.attribute, std::move(v));
          }
          break;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status RunFor(const Node& node, std::string* out) {
    ASSIGN_OR_RETURN(Value iterable, Eval(*node.expr));
    std::vector<Value> items;
    if (iterable.kind == Kind::kArray) {
      items = *iterable.array;
    } else if (iterable.kind == Kind::kObject) {
      for (const auto& [k, v] : *iterable.object) items.push_back(Value::String(k));
    } else if (iterable.kind == Kind::kString) {
      for (char c : iterable.string) items.push_back(Value::String(std::string(1, c)));
    } else if (iterable.kind != Kind::kUndefined && iterable.kind != Kind::kNone) {
      return TypeError("for over a non-iterable");
    }
    scopes_.emplace_back();
    auto bind = [&](const Value& item) -> absl::Status {
      if (node.loop_vars.size() == 1) {
        scopes_.back()[node.loop_vars[0]] = item;
      } else {
        if (item.kind != Kind::kArray || item.array->size() != node.loop_vars.size()) {
          return TypeError("cannot unpack loop item");
        }
        for (size_t i = 0; i < node.loop_vars.size(); ++i) {
          scopes_.back()[node.loop_vars[i]] = (*item.array)[i];
        }
      }
      return absl::OkStatus();
    };
    std::vector<Value> selected;
    for (const Value& item : items) {
      if (node.filter) {
        RETURN_IF_ERROR(bind(item));
        ASSIGN_OR_RETURN(Value keep, Eval(*node.filter));
        if (!Truthy(keep)) continue;
      }
      selected.push_back(item);
    }
    const int64_t n = static_cast<int64_t>(selected.size());
    for (int64_t i = 0; i < n; ++i) {
      RETURN_IF_ERROR(bind(selected[i]));
      Value loop = Value::NewObject({{"index0", Value::Int(i)},
                                     {"index", Value::Int(i + 1)},
                                     {"first", Value::Bool(i == 0)},
                                     {"last", Value::Bool(i == n - 1)},
                                     {"length", Value::Int(n)},
                                     {"revindex", Value::Int(n - i)},
                                     {"revindex0", Value::Int(n - i - 1)}});
      if (i > 0) loop.Set("previtem", selected[i - 1]);
      if (i + 1 < n) loop.Set("nextitem", selected[i + 1]);
      scopes_.back()["loop"] = std::move(loop);
      RETURN_IF_ERROR(Run(node.body, out));
    }
    scopes_.pop_back();
    if (n == 0) RETURN_IF_ERROR(Run(node.else_body, out));
    return absl::OkStatus();
  }

  Value Lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto found = it->find(name);
      if (found != it->end()) return found->second;
    }
    return Value();
  }

  absl::StatusOr<std::vector<Value>> EvalArgs(const Expr& e, size_t first) {
    std::vector<Value> args;
    for (size_t i = first; i < e.kids.size(); ++i) {
      ASSIGN_OR_RETURN(Value v, Eval(*e.kids[i]));
      args.push_back(std::move(v));
    }
    return args;
  }

  absl::StatusOr<Value> Eval(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kLiteral:
        return e.literal;
      case ExprKind::kVar:
        return Lookup(e.name);
      case ExprKind::kAttr: {
        ASSIGN_OR_RETURN(Value obj, Eval(*e.kids[0]));
        const Value* field = obj.Find(e.name);
        return field ? *field : Value();
      }
      case ExprKind::kIndex: {
        ASSIGN_OR_RETURN(Value obj, Eval(*e.kids[0]));
        ASSIGN_OR_RETURN(Value key, Eval(*e.kids[1]));
        return Index(obj, key);
      }
      case ExprKind::kSlice:
        return EvalSlice(e);
      case ExprKind::kCall:
        return EvalCall(e);
      case ExprKind::kFilter: {
        ASSIGN_OR_RETURN(Value input, Eval(*e.kids[0]));
        ASSIGN_OR_RETURN(std::vector<Value> args, EvalArgs(e, 1));
        if (e.name == "selectattr" || e.name == "rejectattr" || e.name == "select" ||
            e.name == "reject" || e.name == "map") {
          return SequenceFilter(e.name, input, args, e.kwarg_names);
        }
        return Filter(e.name, input, args);
      }
      case ExprKind::kTest: {
        ASSIGN_OR_RETURN(Value input, Eval(*e.kids[0]));
        ASSIGN_OR_RETURN(std::vector<Value> args, EvalArgs(e, 1));
        ASSIGN_OR_RETURN(bool result, Test(e.name, input, args));
        return Value::Bool(result != e.negate);
      }
      case ExprKind::kNot: {
        ASSIGN_OR_RETURN(Value v, Eval(*e.kids[0]));
        return Value::Bool(!Truthy(v));
      }
      case ExprKind::kNeg: {
        ASSIGN_OR_RETURN(Value v, Eval(*e.kids[0]));
        if (v.kind == Kind::kInt) return Value::Int(-v.integer);
        if (v.kind == Kind::kFloat) return Value::Float(-v.number);
        return TypeError("negation of a non-number");
      }
      case ExprKind::kAnd: {
        ASSIGN_OR_RETURN(Value l, Eval(*e.kids[0]));
        if (!Truthy(l)) return l;
        return Eval(*e.kids[1]);
      }
      case ExprKind::kOr: {
        ASSIGN_OR_RETURN(Value l, Eval(*e.kids[0]));
        if (Truthy(l)) return l;
        return Eval(*e.kids[1]);
      }
      case ExprKind::kCond: {
        ASSIGN_OR_RETURN(Value c, Eval(*e.kids[1]));
        if (Truthy(c)) return Eval(*e.kids[0]);
        if (e.kids.size() > 2) return Eval(*e.kids[2]);
        return Value();
      }
      case ExprKind::kList: {
        ASSIGN_OR_RETURN(std::vector<Value> items, EvalArgs(e, 0));
        return Value::NewArray(std::move(items));
      }
      case ExprKind::kDict: {
        Value dict = Value::NewObject();
        for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
          ASSIGN_OR_RETURN(Value k, Eval(*e.kids[i]));
          ASSIGN_OR_RETURN(Value v, Eval(*e.kids[i + 1]));
          dict.Set(Text(k), std::move(v));
        }
        return dict;
      }
      case ExprKind::kBinary: {
        ASSIGN_OR_RETURN(Value l, Eval(*e.kids[0]));
        ASSIGN_OR_RETURN(Value r, Eval(*e.kids[1]));
        return BinaryOp(e.name, l, r);
      }
    }
    return absl::InternalError("unhandled expression");
  }

  static absl::StatusOr<Value> Index(const Value& obj, const Value& key) {
    if (obj.kind == Kind::kObject) {
      const Value* field = obj.Find(Text(key));
      return field ? *field : Value();
    }
    if ((obj.kind == Kind::kArray || obj.kind == Kind::kString) && key.kind == Kind::kInt) {
      const int64_t n = obj.kind == Kind::kArray ? obj.array->size() : obj.string.size();
      int64_t i = key.integer < 0 ? key.integer + n : key.integer;
      if (i < 0 || i >= n) return Value();
      if (obj.kind == Kind::kArray) return (*obj.array)[i];
      return Value::String(std::string(1, obj.string[i]));
    }
    return Value();
  }

  absl::StatusOr<Value> EvalSlice(const Expr& e) {
    ASSIGN_OR_RETURN(Value obj, Eval(*e.kids[0]));
    int64_t bounds[3] = {0, 0, 1};
    bool given[3] = {false, false, false};
    for (int k = 0; k < 3; ++k) {
      if (!e.kids[k + 1]) continue;
      ASSIGN_OR_RETURN(Value v, Eval(*e.kids[k + 1]));
      if (v.kind != Kind::kInt) return TypeError("slice bound is not an integer");
      bounds[k] = v.integer;
      given[k] = true;
    }
    const bool is_array = obj.kind == Kind::kArray;
    if (!is_array && obj.kind != Kind::kString) return TypeError("slice of a non-sequence");
    const int64_t n = is_array ? obj.array->size() : obj.string.size();
    const int64_t step = bounds[2];
    if (step == 0) return TypeError("slice step is zero");
    auto clamp = [&](int64_t v, bool is_given, int64_t dflt) {
      if (!is_given) return dflt;
      if (v < 0) v += n;
      return step > 0 ? std::clamp<int64_t>(v, 0, n) : std::clamp<int64_t>(v, -1, n - 1);
    };
    const int64_t start = clamp(bounds[0], given[0], step > 0 ? 0 : n - 1);
    const int64_t stop = clamp(bounds[1], given[1], step > 0 ? n : -1);
    Value::Array items;
    std::string chars;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (is_array)
        items.push_back((*obj.array)[i]);
      else
        chars.push_back(obj.string[i]);
    }
    return is_array ? Value::NewArray(std::move(items)) : Value::String(std::move(chars));
  }

  static absl::StatusOr<Value> BinaryOp(const std::string& op, const Value& l, const Value& r) {
    if (op == "~") return Value::String(Text(l) + Text(r));
    if (op == "==") return Value::Bool(Equal(l, r));
    if (op == "!=") return Value::Bool(!Equal(l, r));
    if (op == "in" || op == "not in") {
      bool found = false;
      if (r.kind == Kind::kString) {
        found = r.string.find(Text(l)) != std::string::npos;
      } else if (r.kind == Kind::kArray) {
        for (const Value& item : *r.array) found = found || Equal(item, l);
      } else if (r.kind == Kind::kObject) {
        found = r.Find(Text(l)) != nullptr;
      }
      return Value::Bool(found == (op == "in"));
    }
    if (op == "+" && l.kind == Kind::kString && r.kind == Kind::kString) {
      return Value::String(l.string + r.string);
    }
    if (op == "+" && l.kind == Kind::kArray && r.kind == Kind::kArray) {
      Value::Array items = *l.array;
      items.insert(items.end(), r.array->begin(), r.array->end());
      return Value::NewArray(std::move(items));
    }
    if ((op == "<" || op == ">" || op == "<=" || op == ">=") && l.kind == Kind::kString &&
        r.kind == Kind::kString) {
      const int c = l.string.compare(r.string);
      return Value::Bool(op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0);
    }
    const bool ints = (l.kind == Kind::kInt || l.kind == Kind::kBool) &&
                      (r.kind == Kind::kInt || r.kind == Kind::kBool);
    auto num = [](const Value& v, bool* ok) {
      *ok = v.kind == Kind::kInt || v.kind == Kind::kFloat || v.kind == Kind::kBool;
      return v.kind == Kind::kFloat ? v.number : v.kind == Kind::kBool ? v.boolean : v.integer;
    };
    bool lok, rok;
    const double a = num(l, &lok);
    const double b = num(r, &rok);
    if (!lok || !rok) return TypeError(absl::StrCat("operator ", op, " on these operands"));
    const int64_t x = l.kind == Kind::kInt ? l.integer : static_cast<int64_t>(a);
    const int64_t y = r.kind == Kind::kInt ? r.integer : static_cast<int64_t>(b);
    if (op == "<") return Value::Bool(a < b);
    if (op == ">") return Value::Bool(a > b);
    if (op == "<=") return Value::Bool(a <= b);
    if (op == ">=") return Value::Bool(a >= b);
    if (op == "+") return ints ? Value::Int(x + y) : Value::Float(a + b);
    if (op == "-") return ints ? Value::Int(x - y) : Value::Float(a - b);
    if (op == "*") return ints ? Value::Int(x * y) : Value::Float(a * b);
    if (op == "/") {
      if (b == 0) return TypeError("division by zero");
      return Value::Float(a / b);
    }
    if (op == "//" || op == "%") {
      if (b == 0) return TypeError("division by zero");
      if (ints) {
        int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;  // floor division
        return op == "//" ? Value::Int(q) : Value::Int(x - q * y);
      }
      const double q = std::floor(a / b);
      return op == "//" ? Value::Float(q) : Value::Float(a - q * b);
    }
    return absl::UnimplementedError(absl::StrCat("operator ", op));
  }

  absl::StatusOr<Value> EvalCall(const Expr& e) {
    const Expr& callee = *e.kids[0];
    ASSIGN_OR_RETURN(std::vector<Value> args, EvalArgs(e, 1));
    const size_t positional = args.size() - e.kwarg_names.size();
    if (callee.kind == ExprKind::kAttr) {
      ASSIGN_OR_RETURN(Value self, Eval(*callee.kids[0]));
      return Method(self, callee.name, args);
    }
    if (callee.kind != ExprKind::kVar) return absl::UnimplementedError("call of an expression");
    const std::string& name = callee.name;
    if (name == "raise_exception") {
      return absl::InvalidArgumentError(
          absl::StrCat("chat template error: ", args.empty() ? "" : Text(args[0])));
    }
    if (name == "namespace") {
      Value ns = Value::NewObject();
      for (size_t i = 0; i < e.kwarg_names.size(); ++i) {
        ns.Set(e.kwarg_names[i], args[positional + i]);
      }
      return ns;
    }
    if (name == "range") {
      int64_t start = 0, stop = 0, step = 1;
      if (positional == 1) stop = args[0].integer;
      if (positional >= 2) {
        start = args[0].integer;
        stop = args[1].integer;
      }
      if (positional == 3) step = args[2].integer;
      if (step == 0 || positional == 0 || positional > 3) return TypeError("range arguments");
      Value::Array items;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        items.push_back(Value::Int(i));
        if (items.size() > 1000000) return TypeError("range too large");
      }
      return Value::NewArray(std::move(items));
    }
    if (name == "strftime_now") {
      // Rendering must be reproducible: a fixed date stands in for "now".
      const std::string format = args.empty() ? "" : Text(args[0]);
      std::string out;
      for (size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%' || i + 1 == format.size()) {
          out.push_back(format[i]);
          continue;
        }
        const char f = format[++i];
        out += f == 'd'   ? "26"
               : f == 'b' ? "Jul"
               : f == 'B' ? "July"
               : f == 'Y' ? "2024"
               : f == 'm' ? "07"
               : f == 'y' ? "24"
                          : std::string(1, f);
      }
      return Value::String(out);
    }
    return absl::UnimplementedError(absl::StrCat("chat template function ", name, "()"));
  }

  static absl::StatusOr<Value> Method(const Value& self, const std::string& name,
                                      const std::vector<Value>& args) {
    if (self.kind == Kind::kString) {
      const std::string& s = self.string;
      const std::string chars = args.empty() ? std::string(" \t\n\r\f\v") : Text(args[0]);
      if (name == "strip") return Value::String(Strip(s, chars, true, true));
      if (name == "lstrip") return Value::String(Strip(s, chars, true, false));
      if (name == "rstrip") return Value::String(Strip(s, chars, false, true));
      if (name == "upper" || name == "lower") {
        std::string t = s;
        for (char& c : t) c = name == "upper" ? std::toupper(c) : std::tolower(c);
        return Value::String(t);
      }
      if ((name == "startswith" || name == "endswith") && !args.empty()) {
        const std::string p = Text(args[0]);
        const bool ok = p.size() <= s.size() &&
                        (name == "startswith" ? s.compare(0, p.size(), p) == 0
                                              : s.compare(s.size() - p.size(), p.size(), p) == 0);
        return Value::Bool(ok);
      }
      if (name == "split") {
        Value::Array parts;
        if (args.empty()) {
          size_t i = 0;
          while (i < s.size()) {
            while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
            size_t j = i;
            while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
            if (j > i) parts.push_back(Value::String(s.substr(i, j - i)));
            i = j;
          }
        } else {
          const std::string sep = Text(args[0]);
          if (sep.empty()) return TypeError("empty separator");
          size_t i = 0;
          for (size_t j; (j = s.find(sep, i)) != std::string::npos; i = j + sep.size()) {
            parts.push_back(Value::String(s.substr(i, j - i)));
          }
          parts.push_back(Value::String(s.substr(i)));
        }
        return Value::NewArray(std::move(parts));
      }
      if (name == "replace" && args.size() >= 2) return ReplaceAll(s, Text(args[0]), Text(args[1]));
    }
    if (self.kind == Kind::kObject) {
      if (name == "items") {
        Value::Array items;
        for (const auto& [k, v] : *self.object) {
          items.push_back(Value::NewArray({Value::String(k), v}));
        }
        return Value::NewArray(std::move(items));
      }
      if (name == "keys" || name == "values") {
        Value::Array items;
        for (const auto& [k, v] : *self.object) {
          items.push_back(name == "keys" ? Value::String(k) : v);
        }
        return Value::NewArray(std::move(items));
      }
      if (name == "get" && !args.empty()) {
        const Value* field = self.Find(Text(args[0]));
        return field ? *field : (args.size() > 1 ? args[1] : Value::None());
      }
    }
    return absl::UnimplementedError(absl::StrCat("chat template method .", name, "()"));
  }

  static Value ReplaceAll(const std::string& s, const std::string& from, const std::string& to) {
    if (from.empty()) return Value::String(s);
    std::string out;
    size_t i = 0;
    for (size_t j; (j = s.find(from, i)) != std::string::npos; i = j + from.size()) {
      out += s.substr(i, j - i) + to;
    }
    return Value::String(out + s.substr(i));
  }

  // Filters over a list: selectattr/rejectattr(attr[, test[, arg]]), select/reject(test[, arg])
  // and map(attribute=name) / map(filter_name).
  static absl::StatusOr<Value> SequenceFilter(const std::string& name, const Value& v,
                                              const std::vector<Value>& args,
                                              const std::vector<std::string>& kwarg_names) {
    if (v.kind != Kind::kArray) return TypeError(absl::StrCat(name, " of a non-list"));
    Value::Array out;
    if (name == "map") {
      const bool by_attribute = kwarg_names.size() == 1 && kwarg_names[0] == "attribute";
      if (args.empty()) return TypeError("map needs an attribute or a filter");
      for (const Value& item : *v.array) {
        if (by_attribute) {
          const Value* field = item.Find(Text(args[0]));
          out.push_back(field ? *field : Value());
        } else {
          ASSIGN_OR_RETURN(Value mapped, Filter(Text(args[0]), item, {}));
          out.push_back(std::move(mapped));
        }
      }
      return Value::NewArray(std::move(out));
    }
    const bool by_attr = name == "selectattr" || name == "rejectattr";
    const bool keep_matching = name == "selectattr" || name == "select";
    const size_t test_at = by_attr ? 1 : 0;
    if (by_attr && args.empty()) return TypeError(absl::StrCat(name, " needs an attribute"));
    for (const Value& item : *v.array) {
      Value subject = item;
      if (by_attr) {
        const Value* field = item.Find(Text(args[0]));
        subject = field ? *field : Value();
      }
      bool match;
      if (args.size() > test_at) {
        const std::vector<Value> test_args(args.begin() + test_at + 1, args.end());
        ASSIGN_OR_RETURN(match, Test(Text(args[test_at]), subject, test_args));
      } else {
        match = Truthy(subject);
      }
      if (match == keep_matching) out.push_back(item);
    }
    return Value::NewArray(std::move(out));
  }

  static absl::StatusOr<Value> Filter(const std::string& name, const Value& v,
                                      const std::vector<Value>& args) {
    if (name == "trim") return Value::String(Strip(Text(v), " \t\n\r\f\v", true, true));
    if (name == "upper" || name == "lower") return Method(Value::String(Text(v)), name, args);
    if (name == "length" || name == "count") {
      if (v.kind == Kind::kString) return Value::Int(v.string.size());
      if (v.kind == Kind::kArray) return Value::Int(v.array->size());
      if (v.kind == Kind::kObject) return Value::Int(v.object->size());
      return Value::Int(0);
    }
    if (name == "tojson") {
      std::string s;
      AppendText(v, true, &s);
      return Value::String(s);
    }
    if (name == "string") return Value::String(Text(v));
    if (name == "safe" || name == "e" || name == "escape") return v;
    if (name == "default" || name == "d") {
      const bool use_default =
          v.kind == Kind::kUndefined || (args.size() > 1 && Truthy(args[1]) && !Truthy(v));
      return use_default ? (args.empty() ? Value::String("") : args[0]) : v;
    }
    if (name == "first" || name == "last") {
      if (v.kind == Kind::kArray && !v.array->empty()) {
        return name == "first" ? v.array->front() : v.array->back();
      }
      return Value();
    }
    if (name == "join") {
      if (v.kind != Kind::kArray) return TypeError("join of a non-list");
      const std::string sep = args.empty() ? "" : Text(args[0]);
      std::string out;
      for (size_t i = 0; i < v.array->size(); ++i) out += (i ? sep : "") + Text((*v.array)[i]);
      return Value::String(out);
    }
    if (name == "list") {
      if (v.kind == Kind::kArray) return v;
      return Method(v, "keys", {});
    }
    if (name == "items") return Method(v, "items", {});
    if (name == "capitalize") {
      std::string s = Text(v);
      for (size_t i = 0; i < s.size(); ++i) s[i] = i ? std::tolower(s[i]) : std::toupper(s[i]);
      return Value::String(s);
    }
    if (name == "replace" && args.size() >= 2)
      return ReplaceAll(Text(v), Text(args[0]), Text(args[1]));
    if (name == "int") {
      if (v.kind == Kind::kFloat) return Value::Int(static_cast<int64_t>(v.number));
      if (v.kind == Kind::kInt) return v;
      return Value::Int(std::strtoll(Text(v).c_str(), nullptr, 10));
    }
    return absl::UnimplementedError(absl::StrCat("chat template filter |", name));
  }

  static absl::StatusOr<bool> Test(const std::string& name, const Value& v,
                                   const std::vector<Value>& args) {
    if (name == "defined") return v.kind != Kind::kUndefined;
    if (name == "undefined") return v.kind == Kind::kUndefined;
    if (name == "none") return v.kind == Kind::kNone;
    if (name == "string") return v.kind == Kind::kString;
    if (name == "number") return v.kind == Kind::kInt || v.kind == Kind::kFloat;
    if (name == "integer") return v.kind == Kind::kInt;
    if (name == "boolean") return v.kind == Kind::kBool;
    if (name == "true") return v.kind == Kind::kBool && v.boolean;
    if (name == "false") return v.kind == Kind::kBool && !v.boolean;
    if (name == "mapping") return v.kind == Kind::kObject;
    if (name == "sequence" || name == "iterable") {
      return v.kind == Kind::kArray || v.kind == Kind::kString || v.kind == Kind::kObject;
    }
    if ((name == "equalto" || name == "eq" || name == "sameas") && !args.empty()) {
      return Equal(v, args[0]);
    }
    return absl::UnimplementedError(absl::StrCat("chat template test 'is ", name, "'"));
  }

  std::vector<absl::flat_hash_map<std::string, Value>> scopes_;
};

}  // namespace

JinjaTemplate::~JinjaTemplate() = default;

absl::StatusOr<std::unique_ptr<JinjaTemplate>> JinjaTemplate::Parse(std::string_view source) {
  ASSIGN_OR_RETURN(std::vector<Segment> segments, Split(source));
  StmtParser parser(std::move(segments));
  auto tmpl = std::unique_ptr<JinjaTemplate>(new JinjaTemplate());
  std::string end;
  std::unique_ptr<ExprParser> unused;
  RETURN_IF_ERROR(parser.ParseBlock({}, &tmpl->nodes_, &end, &unused));
  return tmpl;
}

absl::StatusOr<std::string> JinjaTemplate::Render(const JinjaValue& context) const {
  Renderer renderer(context);
  std::string out;
  RETURN_IF_ERROR(renderer.Run(nodes_, &out));
  return out;
}

}  // namespace baton::engine::tokenizer
