#include "engine/tokenizer/jinja_parser.h"

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace baton::engine::tokenizer::jinja {
namespace {

using Value = JinjaValue;

ExprPtr MakeExpr(ExprKind kind) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  return e;
}

class ExprParser {
 public:
  explicit ExprParser(std::vector<Token> toks) : toks_(std::move(toks)) {}

  const Token& Peek(size_t ahead = 0) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  bool AtEnd() const { return Peek().kind == TokenKind::kEnd; }
  bool IsOp(std::string_view op) const {
    return Peek().kind == TokenKind::kOp && Peek().text == op;
  }
  bool IsName(std::string_view n) const {
    return Peek().kind == TokenKind::kName && Peek().text == n;
  }
  bool Accept(std::string_view op) {
    if ((Peek().kind == TokenKind::kOp || Peek().kind == TokenKind::kName) && Peek().text == op) {
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
    if (Peek().kind != TokenKind::kName) {
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
    return ParseChain(ExprKind::kOr, {"or"}, &ExprParser::ParseAnd);
  }

  absl::StatusOr<ExprPtr> ParseAnd() {
    return ParseChain(ExprKind::kAnd, {"and"}, &ExprParser::ParseNot);
  }

  absl::StatusOr<ExprPtr> ParseNot() {
    if (IsName("not")) {
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr inner, ParseNot());
      return Unary(ExprKind::kNot, std::move(inner));
    }
    return ParseCompare();
  }

  absl::StatusOr<ExprPtr> ParseCompare() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
    while (true) {
      std::string op;
      if (Peek().kind == TokenKind::kOp &&
          (Peek().text == "==" || Peek().text == "!=" || Peek().text == "<" || Peek().text == ">" ||
           Peek().text == "<=" || Peek().text == ">=")) {
        op = toks_[pos_++].text;
      } else if (IsName("in")) {
        ++pos_;
        op = "in";
      } else if (IsName("not") && Peek(1).kind == TokenKind::kName && Peek(1).text == "in") {
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
        } else if (!AtEnd() && Peek().kind != TokenKind::kOp && !IsName("and") && !IsName("or") &&
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
    return ParseChain(ExprKind::kBinary, {"~"}, &ExprParser::ParseAdd);
  }

  absl::StatusOr<ExprPtr> ParseAdd() {
    return ParseChain(ExprKind::kBinary, {"+", "-"}, &ExprParser::ParseMul);
  }

  absl::StatusOr<ExprPtr> ParseMul() {
    return ParseChain(ExprKind::kBinary, {"*", "/", "//", "%"}, &ExprParser::ParseUnary);
  }

  absl::StatusOr<ExprPtr> ParseUnary() {
    if (IsOp("-")) {
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr inner, ParseUnary());
      return Unary(ExprKind::kNeg, std::move(inner));
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
      if (Peek().kind == TokenKind::kName && Peek(1).kind == TokenKind::kOp &&
          Peek(1).text == "=") {
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
    const Token& t = Peek();
    auto lit = MakeExpr(ExprKind::kLiteral);
    switch (t.kind) {
      case TokenKind::kString: {
        std::string s = t.text;
        ++pos_;
        while (Peek().kind == TokenKind::kString) s += toks_[pos_++].text;  // adjacent literals
        lit->literal = Value::String(std::move(s));
        return lit;
      }
      case TokenKind::kInt:
        lit->literal = Value::Int(t.integer);
        ++pos_;
        return lit;
      case TokenKind::kFloat:
        lit->literal = Value::Float(t.number);
        ++pos_;
        return lit;
      case TokenKind::kName: {
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
      case TokenKind::kOp:
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
      case TokenKind::kEnd:
        break;
    }
    return absl::InvalidArgumentError(absl::StrCat("unexpected '", t.text, "' in expression"));
  }

  // next (op next)*, left-associative, for the operators (or keywords) `ops`.
  absl::StatusOr<ExprPtr> ParseChain(ExprKind kind, std::initializer_list<std::string_view> ops,
                                     absl::StatusOr<ExprPtr> (ExprParser::*next)()) {
    ASSIGN_OR_RETURN(ExprPtr left, (this->*next)());
    while (true) {
      auto op = std::find_if(ops.begin(), ops.end(),
                             [this](std::string_view o) { return IsOp(o) || IsName(o); });
      if (op == ops.end()) return left;
      ++pos_;
      ASSIGN_OR_RETURN(ExprPtr right, (this->*next)());
      left = Binary(kind, std::string(*op), std::move(left), std::move(right));
    }
  }

  static ExprPtr Unary(ExprKind kind, ExprPtr inner) {
    auto e = MakeExpr(kind);
    e->kids.push_back(std::move(inner));
    return e;
  }

  static ExprPtr Binary(ExprKind kind, std::string op, ExprPtr l, ExprPtr r) {
    auto e = MakeExpr(kind);
    e->name = std::move(op);
    e->kids.push_back(std::move(l));
    e->kids.push_back(std::move(r));
    return e;
  }

 private:
  std::vector<Token> toks_;
  size_t pos_ = 0;
};
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
      ASSIGN_OR_RETURN(std::vector<Token> toks, TokenizeExpression(seg.text));
      auto p = std::make_unique<ExprParser>(std::move(toks));
      if (seg.type == Segment::Type::kExpression) {
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
}  // namespace

absl::StatusOr<std::vector<Node>> ParseTemplate(std::string_view source) {
  ASSIGN_OR_RETURN(std::vector<Segment> segments, SplitTemplate(source));
  StmtParser parser(std::move(segments));
  std::vector<Node> nodes;
  std::string end;
  std::unique_ptr<ExprParser> unused;
  RETURN_IF_ERROR(parser.ParseBlock({}, &nodes, &end, &unused));
  return nodes;
}

absl::StatusOr<ExprPtr> ParseExpression(std::string_view source) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, TokenizeExpression(source));
  ExprParser parser(std::move(tokens));
  return ParseFull(parser);
}

}  // namespace baton::engine::tokenizer::jinja
