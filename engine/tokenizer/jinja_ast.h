// The syntax tree the Jinja parser (jinja_parser.h) builds and the renderer (jinja_renderer.h)
// walks: expressions (Expr) and statements (Node). Plain move-only data; a finished tree is
// immutable and may be read from many threads.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tokenizer/jinja_value.h"

namespace baton::engine::tokenizer::jinja {

// What an Expr is, and what its `kids` hold:
enum class ExprKind {
  kLiteral,  // `literal`; no kids
  kVar,      // variable `name`
  kAttr,     // kids[0].`name`
  kIndex,    // kids[0][kids[1]]
  kSlice,    // kids[0][kids[1]:kids[2]:kids[3]]; an omitted bound is nullptr
  kCall,     // kids[0](kids[1..]); kids[0] is a kVar (function) or kAttr (method)
  kFilter,   // kids[0] | `name`(kids[1..])
  kTest,     // kids[0] is [not] `name`(kids[1..]); `negate` for "is not"
  kNot,      // not kids[0]
  kNeg,      // -kids[0]
  kBinary,   // kids[0] `name` kids[1]: ~ == != < > <= >= in "not in" + - * / // %
  kAnd,      // kids[0] and kids[1]
  kOr,       // kids[0] or kids[1]
  kCond,     // kids[0] if kids[1] [else kids[2]]
  kList,     // [kids...] (tuples too)
  kDict,     // {kids[0]: kids[1], kids[2]: kids[3], ...}
};

struct Expr {
  ExprKind kind;
  JinjaValue literal;
  std::string name;  // variable / attribute / filter / test / operator
  bool negate = false;
  std::vector<std::unique_ptr<Expr>> kids;  // nullptr allowed for omitted slice bounds
  std::vector<std::string> kwarg_names;     // call/filter: names of the trailing kids
};

using ExprPtr = std::unique_ptr<Expr>;

struct Node {
  enum class Type {
    kText,    // `text`
    kOutput,  // {{ expr }}
    kIf,      // {% if %}...{% elif %}...{% else %}...{% endif %}: `branches`
    kFor,     // {% for loop_vars in expr [if filter] %}body{% else %}else_body{% endfor %}
    kSet,     // {% set target[.attribute] = expr %}
  };
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

}  // namespace baton::engine::tokenizer::jinja
