#include "engine/tokenizer/jinja_renderer.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/status_macros.h"
#include "engine/tokenizer/jinja_builtins.h"

namespace baton::engine::tokenizer::jinja {
namespace {

using Value = JinjaValue;
using Kind = JinjaValue::Kind;

class Renderer {
 public:
  explicit Renderer(const Value& context) {
    scopes_.emplace_back();
    if (context.kind == Kind::kObject) {
      for (const auto& [k, v] : *context.object) scopes_.back()[k] = v;
    }
  }

  absl::Status Run(const std::vector<Node>& nodes, std::string* out) {
    for (const Node& node : nodes) {
      switch (node.type) {
        case Node::Type::kText:
          *out += node.text;
          break;
        case Node::Type::kOutput: {
          ASSIGN_OR_RETURN(Value v, Eval(*node.expr));
          AppendText(v, false, out);
          break;
        }
        case Node::Type::kIf:
          for (const auto& [cond, body] : node.branches) {
            bool take = true;
            if (cond) {
              ASSIGN_OR_RETURN(Value c, Eval(*cond));
              take = Truthy(c);
            }
            if (take) {
              RETURN_IF_ERROR(Run(body, out));
              break;
            }
          }
          break;
        case Node::Type::kFor:
          RETURN_IF_ERROR(RunFor(node, out));
          break;
        case Node::Type::kSet: {
          ASSIGN_OR_RETURN(Value v, Eval(*node.expr));
          if (node.attribute.empty()) {
            scopes_.back()[node.target] = std::move(v);
          } else {
            Value target = Lookup(node.target);
            if (target.kind != Kind::kObject)
              return TypeError("set of an attribute of a non-object");
            target.Set(node.attribute, std::move(v));
          }
          break;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status RunFor(const Node& node, std::string* out) {
    ASSIGN_OR_RETURN(Value iterable, Eval(*node.expr));
    std::vector<Value> items;
    if (iterable.kind == Kind::kArray) {
      items = *iterable.array;
    } else if (iterable.kind == Kind::kObject) {
      for (const auto& [k, v] : *iterable.object) items.push_back(Value::String(k));
    } else if (iterable.kind == Kind::kString) {
      for (char c : iterable.string) items.push_back(Value::String(std::string(1, c)));
    } else if (iterable.kind != Kind::kUndefined && iterable.kind != Kind::kNone) {
      return TypeError("for over a non-iterable");
    }
    scopes_.emplace_back();
    auto bind = [&](const Value& item) -> absl::Status {
      if (node.loop_vars.size() == 1) {
        scopes_.back()[node.loop_vars[0]] = item;
      } else {
        if (item.kind != Kind::kArray || item.array->size() != node.loop_vars.size()) {
          return TypeError("cannot unpack loop item");
        }
        for (size_t i = 0; i < node.loop_vars.size(); ++i) {
          scopes_.back()[node.loop_vars[i]] = (*item.array)[i];
        }
      }
      return absl::OkStatus();
    };
    std::vector<Value> selected;
    for (const Value& item : items) {
      if (node.filter) {
        RETURN_IF_ERROR(bind(item));
        ASSIGN_OR_RETURN(Value keep, Eval(*node.filter));
        if (!Truthy(keep)) continue;
      }
      selected.push_back(item);
    }
    const int64_t n = static_cast<int64_t>(selected.size());
    for (int64_t i = 0; i < n; ++i) {
      RETURN_IF_ERROR(bind(selected[i]));
      Value loop = Value::NewObject({{"index0", Value::Int(i)},
                                     {"index", Value::Int(i + 1)},
                                     {"first", Value::Bool(i == 0)},
                                     {"last", Value::Bool(i == n - 1)},
                                     {"length", Value::Int(n)},
                                     {"revindex", Value::Int(n - i)},
                                     {"revindex0", Value::Int(n - i - 1)}});
      if (i > 0) loop.Set("previtem", selected[i - 1]);
      if (i + 1 < n) loop.Set("nextitem", selected[i + 1]);
      scopes_.back()["loop"] = std::move(loop);
      RETURN_IF_ERROR(Run(node.body, out));
    }
    scopes_.pop_back();
    if (n == 0) RETURN_IF_ERROR(Run(node.else_body, out));
    return absl::OkStatus();
  }

  Value Lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto found = it->find(name);
      if (found != it->end()) return found->second;
    }
    return Value();
  }

  absl::StatusOr<std::vector<Value>> EvalArgs(const Expr& e, size_t first) {
    std::vector<Value> args;
    for (size_t i = first; i < e.kids.size(); ++i) {
      ASSIGN_OR_RETURN(Value v, Eval(*e.kids[i]));
      args.push_back(std::move(v));
    }
    return args;
  }

  absl::StatusOr<Value> Eval(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kLiteral:
        return e.literal;
      case ExprKind::kVar:
        return Lookup(e.name);
      case ExprKind::kAttr: {
        ASSIGN_OR_RETURN(Value obj, Eval(*e.kids[0]));
        const Value* field = obj.Find(e.name);
        return field ? *field : Value();
      }
      case ExprKind::kIndex: {
        ASSIGN_OR_RETURN(Value obj, Eval(*e.kids[0]));
        ASSIGN_OR_RETURN(Value key, Eval(*e.kids[1]));
        return Index(obj, key);
      }
      case ExprKind::kSlice:
        return EvalSlice(e);
      case ExprKind::kCall:
        return EvalCall(e);
      case ExprKind::kFilter: {
        ASSIGN_OR_RETURN(Value input, Eval(*e.kids[0]));
        ASSIGN_OR_RETURN(std::vector<Value> args, EvalArgs(e, 1));
        return ApplyFilter(e.name, input, args, e.kwarg_names);
      }
      case ExprKind::kTest: {
        ASSIGN_OR_RETURN(Value input, Eval(*e.kids[0]));
        ASSIGN_OR_RETURN(std::vector<Value> args, EvalArgs(e, 1));
        ASSIGN_OR_RETURN(bool result, ApplyTest(e.name, input, args));
        return Value::Bool(result != e.negate);
      }
      case ExprKind::kNot: {
        ASSIGN_OR_RETURN(Value v, Eval(*e.kids[0]));
        return Value::Bool(!Truthy(v));
      }
      case ExprKind::kNeg: {
        ASSIGN_OR_RETURN(Value v, Eval(*e.kids[0]));
        if (v.kind == Kind::kInt) return Value::Int(-v.integer);
        if (v.kind == Kind::kFloat) return Value::Float(-v.number);
        return TypeError("negation of a non-number");
      }
      case ExprKind::kAnd: {
        ASSIGN_OR_RETURN(Value l, Eval(*e.kids[0]));
        if (!Truthy(l)) return l;
        return Eval(*e.kids[1]);
      }
      case ExprKind::kOr: {
        ASSIGN_OR_RETURN(Value l, Eval(*e.kids[0]));
        if (Truthy(l)) return l;
        return Eval(*e.kids[1]);
      }
      case ExprKind::kCond: {
        ASSIGN_OR_RETURN(Value c, Eval(*e.kids[1]));
        if (Truthy(c)) return Eval(*e.kids[0]);
        if (e.kids.size() > 2) return Eval(*e.kids[2]);
        return Value();
      }
      case ExprKind::kList: {
        ASSIGN_OR_RETURN(std::vector<Value> items, EvalArgs(e, 0));
        return Value::NewArray(std::move(items));
      }
      case ExprKind::kDict: {
        Value dict = Value::NewObject();
        for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
          ASSIGN_OR_RETURN(Value k, Eval(*e.kids[i]));
          ASSIGN_OR_RETURN(Value v, Eval(*e.kids[i + 1]));
          dict.Set(Text(k), std::move(v));
        }
        return dict;
      }
      case ExprKind::kBinary: {
        ASSIGN_OR_RETURN(Value l, Eval(*e.kids[0]));
        ASSIGN_OR_RETURN(Value r, Eval(*e.kids[1]));
        return ApplyBinaryOperator(e.name, l, r);
      }
    }
    return absl::InternalError("unhandled expression");
  }

  static absl::StatusOr<Value> Index(const Value& obj, const Value& key) {
    if (obj.kind == Kind::kObject) {
      const Value* field = obj.Find(Text(key));
      return field ? *field : Value();
    }
    if ((obj.kind == Kind::kArray || obj.kind == Kind::kString) && key.kind == Kind::kInt) {
      const int64_t n = obj.kind == Kind::kArray ? obj.array->size() : obj.string.size();
      int64_t i = key.integer < 0 ? key.integer + n : key.integer;
      if (i < 0 || i >= n) return Value();
      if (obj.kind == Kind::kArray) return (*obj.array)[i];
      return Value::String(std::string(1, obj.string[i]));
    }
    return Value();
  }

  absl::StatusOr<Value> EvalSlice(const Expr& e) {
    ASSIGN_OR_RETURN(Value obj, Eval(*e.kids[0]));
    int64_t bounds[3] = {0, 0, 1};
    bool given[3] = {false, false, false};
    for (int k = 0; k < 3; ++k) {
      if (!e.kids[k + 1]) continue;
      ASSIGN_OR_RETURN(Value v, Eval(*e.kids[k + 1]));
      if (v.kind != Kind::kInt) return TypeError("slice bound is not an integer");
      bounds[k] = v.integer;
      given[k] = true;
    }
    const bool is_array = obj.kind == Kind::kArray;
    if (!is_array && obj.kind != Kind::kString) return TypeError("slice of a non-sequence");
    const int64_t n = is_array ? obj.array->size() : obj.string.size();
    const int64_t step = bounds[2];
    if (step == 0) return TypeError("slice step is zero");
    auto clamp = [&](int64_t v, bool is_given, int64_t dflt) {
      if (!is_given) return dflt;
      if (v < 0) v += n;
      return step > 0 ? std::clamp<int64_t>(v, 0, n) : std::clamp<int64_t>(v, -1, n - 1);
    };
    const int64_t start = clamp(bounds[0], given[0], step > 0 ? 0 : n - 1);
    const int64_t stop = clamp(bounds[1], given[1], step > 0 ? n : -1);
    Value::Array items;
    std::string chars;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (is_array)
        items.push_back((*obj.array)[i]);
      else
        chars.push_back(obj.string[i]);
    }
    return is_array ? Value::NewArray(std::move(items)) : Value::String(std::move(chars));
  }

  absl::StatusOr<Value> EvalCall(const Expr& e) {
    const Expr& callee = *e.kids[0];
    ASSIGN_OR_RETURN(std::vector<Value> args, EvalArgs(e, 1));
    if (callee.kind == ExprKind::kAttr) {
      ASSIGN_OR_RETURN(Value self, Eval(*callee.kids[0]));
      return CallMethod(self, callee.name, args);
    }
    if (callee.kind != ExprKind::kVar) return absl::UnimplementedError("call of an expression");
    return CallFunction(callee.name, args, e.kwarg_names);
  }

  std::vector<absl::flat_hash_map<std::string, Value>> scopes_;
};

}  // namespace

absl::StatusOr<std::string> RenderTemplate(const std::vector<Node>& nodes,
                                           const JinjaValue& context) {
  Renderer renderer(context);
  std::string out;
  RETURN_IF_ERROR(renderer.Run(nodes, &out));
  return out;
}

}  // namespace baton::engine::tokenizer::jinja
