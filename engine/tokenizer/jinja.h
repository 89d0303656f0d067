// A small interpreter for the Jinja subset that chat templates use: text, {{ expressions }},
// {% if/elif/else %}, {% for x in xs [if cond] %} with `loop`, {% set %} (including
// namespace attributes), comments, whitespace control ("-") and Hugging Face's trim_blocks /
// lstrip_blocks; expressions with literals, lists, dicts, attribute/index/slice access, the
// usual operators, filters (trim, length, tojson, default, join, ...), tests (defined, none,
// string, ...), string/dict methods (strip, startswith, split, items, get, ...) and the
// functions raise_exception, namespace, range and strftime_now. Macros, call blocks, includes
// and other statements are refused with kUnimplemented.
//
// The interpreter is split as a compiler is: jinja_lexer.h (tags and tokens), jinja_parser.h
// (the syntax tree of jinja_ast.h), jinja_renderer.h (evaluation, with the filters, tests,
// methods and functions of jinja_builtins.h) over the values of jinja_value.h.
//
// A parsed JinjaTemplate is immutable; Render is const and thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/jinja_ast.h"
#include "engine/tokenizer/jinja_value.h"

namespace baton::engine::tokenizer {

class JinjaTemplate {
 public:
  // Parses `source`. kInvalidArgument for syntax errors; kUnimplemented for statements outside
  // the supported subset. The message names the offending tag.
  static absl::StatusOr<std::unique_ptr<JinjaTemplate>> Parse(std::string_view source);

  // Renders with the top-level variables of `context` (an object). Errors: kInvalidArgument
  // from raise_exception() or a type error in the template; kUnimplemented for an unknown
  // filter, test, function or method.
  absl::StatusOr<std::string> Render(const JinjaValue& context) const;

 private:
  explicit JinjaTemplate(std::vector<jinja::Node> nodes) : nodes_(std::move(nodes)) {}
  std::vector<jinja::Node> nodes_;
};

}  // namespace baton::engine::tokenizer
