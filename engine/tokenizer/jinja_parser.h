// The parser of the chat-template Jinja interpreter (jinja.h): from the lexer's segments and
// tokens (jinja_lexer.h) to the syntax tree (jinja_ast.h). Recursive descent with Jinja's
// precedence: conditional, or, and, not, comparisons/in/is, ~, + -, * / // %, unary -, then
// postfix .attr [index] [a:b:c] (call) |filter.
//
// Pure functions; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/jinja_ast.h"
#include "engine/tokenizer/jinja_lexer.h"

namespace baton::engine::tokenizer::jinja {

// The statements of a whole template. Errors: kInvalidArgument for a syntax error (a missing
// {% endif %}, an {% endfor %} with no {% for %}, a malformed expression, the lexer's errors);
// kUnimplemented for a statement outside the subset ({% macro %}, {% set %} blocks, ...). The
// message names the offending tag or token.
absl::StatusOr<std::vector<Node>> ParseTemplate(std::string_view source);

// One expression, as between {{ and }}. Errors: kInvalidArgument for a syntax error, including
// text left over after the expression.
absl::StatusOr<ExprPtr> ParseExpression(std::string_view source);

}  // namespace baton::engine::tokenizer::jinja
