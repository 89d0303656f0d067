// What the names and operators of a chat template mean: binary operators, filters (|trim),
// tests (is defined), methods of strings and dicts (.strip(), .items()) and the global functions
// (raise_exception, namespace, range, strftime_now). The renderer (jinja_renderer.h) evaluates
// the arguments and calls these.
//
// Pure functions (strftime_now renders a fixed date, so output is reproducible); thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/jinja_value.h"

namespace baton::engine::tokenizer::jinja {

// `l op r` for the operators of ExprKind::kBinary (~ == != < > <= >= in "not in" + - * / // %).
// Errors: kInvalidArgument for operands of the wrong type or a division by zero.
absl::StatusOr<JinjaValue> ApplyBinaryOperator(const std::string& op, const JinjaValue& l,
                                               const JinjaValue& r);

// `input | name(args)`; the last kwarg_names.size() args are keyword arguments with those names.
// Errors: kUnimplemented naming an unknown filter; kInvalidArgument for a type error.
absl::StatusOr<JinjaValue> ApplyFilter(const std::string& name, const JinjaValue& input,
                                       const std::vector<JinjaValue>& args,
                                       const std::vector<std::string>& kwarg_names);

// `v is name(args)`. Errors: kUnimplemented naming an unknown test.
absl::StatusOr<bool> ApplyTest(const std::string& name, const JinjaValue& v,
                               const std::vector<JinjaValue>& args);

// `self.name(args)`. Errors: kUnimplemented naming a method `self` does not have;
// kInvalidArgument for a type error.
absl::StatusOr<JinjaValue> CallMethod(const JinjaValue& self, const std::string& name,
                                      const std::vector<JinjaValue>& args);

// `name(args)` for a global function; keyword arguments as for ApplyFilter. Errors:
// kInvalidArgument carrying the template's message for raise_exception() and for bad range()
// arguments; kUnimplemented naming an unknown function.
absl::StatusOr<JinjaValue> CallFunction(const std::string& name,
                                        const std::vector<JinjaValue>& args,
                                        const std::vector<std::string>& kwarg_names);

}  // namespace baton::engine::tokenizer::jinja
