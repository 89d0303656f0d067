// A small interpreter for the Jinja subset that chat templates use: text, {{ expressions }},
// {% if/elif/else %}, {% for x in xs [if cond] %} with `loop`, {% set %} (including
// namespace attributes), comments, whitespace control ("-") and Hugging Face's trim_blocks /
// lstrip_blocks; expressions with literals, lists, dicts, attribute/index/slice access, the
// usual operators, filters (trim, length, tojson, default, join, ...), tests (defined, none,
// string, ...), string/dict methods (strip, startswith, split, items, get, ...) and the
// functions raise_exception, namespace, range and strftime_now. Macros, call blocks, includes
// and other statements are refused with kUnimplemented.
//
// A parsed JinjaTemplate is immutable; Render is const and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace baton::engine::tokenizer {

// A Jinja value. Arrays and objects are shared by reference, as in Python.
struct JinjaValue {
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kArray, kObject };
  using Array = std::vector<JinjaValue>;
  using Object = std::vector<std::pair<std::string, JinjaValue>>;  // insertion ordered

  Kind kind = Kind::kUndefined;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string string;
  std::shared_ptr<Array> array;
  std::shared_ptr<Object> object;

  static JinjaValue None();
  static JinjaValue Bool(bool b);
  static JinjaValue Int(int64_t i);
  static JinjaValue Float(double f);
  static JinjaValue String(std::string s);
  static JinjaValue NewArray(Array items = {});
  static JinjaValue NewObject(Object fields = {});

  // Field of an object (nullptr when absent or not an object).
  const JinjaValue* Find(std::string_view key) const;
  // Sets (or adds) a field of an object.
  void Set(const std::string& key, JinjaValue value);
};

class JinjaTemplate {
 public:
  // Parses `source`. kInvalidArgument for syntax errors; kUnimplemented for statements outside
  // the supported subset. The message names the offending tag.
  static absl::StatusOr<std::unique_ptr<JinjaTemplate>> Parse(std::string_view source);
  ~JinjaTemplate();

  // Renders with the top-level variables of `context` (an object). Errors: kInvalidArgument
  // from raise_exception() or a type error in the template; kUnimplemented for an unknown
  // filter, test, function or method.
  absl::StatusOr<std::string> Render(const JinjaValue& context) const;

  struct Node;

 private:
  JinjaTemplate() = default;
  std::vector<Node> nodes_;
};

}  // namespace baton::engine::tokenizer
