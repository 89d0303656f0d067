#include "engine/tokenizer/jinja_builtins.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace baton::engine::tokenizer::jinja {
namespace {

using Value = JinjaValue;
using Kind = JinjaValue::Kind;

std::string Strip(const std::string& s, const std::string& chars, bool left, bool right) {
  size_t b = 0;
  size_t e = s.size();
  while (left && b < e && chars.find(s[b]) != std::string::npos) ++b;
  while (right && e > b && chars.find(s[e - 1]) != std::string::npos) --e;
  return s.substr(b, e - b);
}

Value ReplaceAll(const std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return Value::String(s);
  std::string out;
  size_t i = 0;
  for (size_t j; (j = s.find(from, i)) != std::string::npos; i = j + from.size()) {
    out += s.substr(i, j - i) + to;
  }
  return Value::String(out + s.substr(i));
}

// Filters of one value (everything but the sequence filters).
absl::StatusOr<Value> ValueFilter(const std::string& name, const Value& v,
                                  const std::vector<Value>& args) {
  if (name == "trim") return Value::String(Strip(Text(v), " \t\n\r\f\v", true, true));
  if (name == "upper" || name == "lower") return CallMethod(Value::String(Text(v)), name, args);
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
    return CallMethod(v, "keys", {});
  }
  if (name == "items") return CallMethod(v, "items", {});
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

// Filters over a list: selectattr/rejectattr(attr[, test[, arg]]), select/reject(test[, arg])
// and map(attribute=name) / map(filter_name).
absl::StatusOr<Value> SequenceFilter(const std::string& name, const Value& v,
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
        ASSIGN_OR_RETURN(Value mapped, ValueFilter(Text(args[0]), item, {}));
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
      ASSIGN_OR_RETURN(match, ApplyTest(Text(args[test_at]), subject, test_args));
    } else {
      match = Truthy(subject);
    }
    if (match == keep_matching) out.push_back(item);
  }
  return Value::NewArray(std::move(out));
}

}  // namespace

absl::StatusOr<Value> ApplyBinaryOperator(const std::string& op, const Value& l, const Value& r) {
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

absl::StatusOr<Value> ApplyFilter(const std::string& name, const Value& input,
                                  const std::vector<Value>& args,
                                  const std::vector<std::string>& kwarg_names) {
  if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject" ||
      name == "map") {
    return SequenceFilter(name, input, args, kwarg_names);
  }
  return ValueFilter(name, input, args);
}

absl::StatusOr<bool> ApplyTest(const std::string& name, const Value& v,
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

absl::StatusOr<Value> CallMethod(const Value& self, const std::string& name,
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

absl::StatusOr<Value> CallFunction(const std::string& name, const std::vector<Value>& args,
                                   const std::vector<std::string>& kwarg_names) {
  const size_t positional = args.size() - kwarg_names.size();
  if (name == "raise_exception") {
    return absl::InvalidArgumentError(
        absl::StrCat("chat template error: ", args.empty() ? "" : Text(args[0])));
  }
  if (name == "namespace") {
    Value ns = Value::NewObject();
    for (size_t i = 0; i < kwarg_names.size(); ++i) {
      ns.Set(kwarg_names[i], args[positional + i]);
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

}  // namespace baton::engine::tokenizer::jinja
