// The renderer of the chat-template Jinja interpreter (jinja.h): walks a parsed template
// (jinja_ast.h) with a context of variables and writes the output. Variables live in a stack of
// scopes: the context, then one per {% for %} body (which also binds `loop`); {% set %} writes
// the innermost scope, and namespace() objects carry values out of loops.
//
// Pure function of its arguments; thread-safe as long as no other thread mutates the context's
// shared arrays and objects.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/jinja_ast.h"
#include "engine/tokenizer/jinja_value.h"

namespace baton::engine::tokenizer::jinja {

// Renders `nodes` with the top-level variables of `context` (an object; anything else gives no
// variables). Errors: kInvalidArgument from raise_exception() or a type error in the template;
// kUnimplemented for an unknown filter, test, function or method.
absl::StatusOr<std::string> RenderTemplate(const std::vector<Node>& nodes,
                                           const JinjaValue& context);

}  // namespace baton::engine::tokenizer::jinja
