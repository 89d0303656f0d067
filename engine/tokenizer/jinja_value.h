// Values of the chat-template Jinja interpreter (jinja.h) and the rules every part of it shares:
// truthiness, equality and how a value prints (Python style or JSON).
//
// A JinjaValue is a plain value type; copies share arrays and objects (as Python references do),
// so a value is not safe to mutate from two threads. The functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

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

namespace jinja {

// Python truthiness: undefined, none, false, 0, "" and empty containers are false.
bool Truthy(const JinjaValue& v);
// Python equality; numbers (bool, int, float) compare by value, none equals undefined, objects
// by identity.
bool Equal(const JinjaValue& a, const JinjaValue& b);
// Appends `v` as Python prints it ({{ v }}: None, True, ['a', 1]; undefined prints nothing) or,
// with `json`, as JSON (the tojson filter).
void AppendText(const JinjaValue& v, bool json, std::string* out);
// AppendText(v, false) into a new string.
std::string Text(const JinjaValue& v);
// kInvalidArgument "chat template type error: <what>": an operation on values of the wrong type.
absl::Status TypeError(std::string_view what);

}  // namespace jinja
}  // namespace baton::engine::tokenizer
