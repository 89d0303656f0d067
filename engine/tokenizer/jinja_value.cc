#include "engine/tokenizer/jinja_value.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace baton::engine::tokenizer {

using Kind = JinjaValue::Kind;

namespace {

JinjaValue OfKind(Kind kind) {
  JinjaValue v;
  v.kind = kind;
  return v;
}

}  // namespace

JinjaValue JinjaValue::None() { return OfKind(Kind::kNone); }
JinjaValue JinjaValue::Bool(bool b) {
  JinjaValue v = OfKind(Kind::kBool);
  v.boolean = b;
  return v;
}
JinjaValue JinjaValue::Int(int64_t i) {
  JinjaValue v = OfKind(Kind::kInt);
  v.integer = i;
  return v;
}
JinjaValue JinjaValue::Float(double f) {
  JinjaValue v = OfKind(Kind::kFloat);
  v.number = f;
  return v;
}
JinjaValue JinjaValue::String(std::string s) {
  JinjaValue v = OfKind(Kind::kString);
  v.string = std::move(s);
  return v;
}
JinjaValue JinjaValue::NewArray(Array items) {
  JinjaValue v = OfKind(Kind::kArray);
  v.array = std::make_shared<Array>(std::move(items));
  return v;
}
JinjaValue JinjaValue::NewObject(Object fields) {
  JinjaValue v = OfKind(Kind::kObject);
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
namespace jinja {
namespace {

using Value = JinjaValue;

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

}  // namespace

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

}  // namespace jinja
}  // namespace baton::engine::tokenizer
