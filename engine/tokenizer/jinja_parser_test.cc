#include "engine/tokenizer/jinja_parser.h"

#include <string>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer::jinja {
namespace {

using ::baton::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The tree as a compact S-expression, so tests can state the expected shape in one line.
std::string Show(const Expr* e) {
  if (e == nullptr) return "_";
  std::string kids;
  for (const auto& kid : e->kids) kids += " " + Show(kid.get());
  switch (e->kind) {
    case ExprKind::kLiteral:
      return e->literal.kind == JinjaValue::Kind::kString ? "'" + e->literal.string + "'"
                                                          : Text(e->literal);
    case ExprKind::kVar:
      return e->name;
    case ExprKind::kAttr:
      return "(." + e->name + kids + ")";
    case ExprKind::kIndex:
      return "([]" + kids + ")";
    case ExprKind::kSlice:
      return "([:]" + kids + ")";
    case ExprKind::kCall:
      return "(call" + kids + ")";
    case ExprKind::kFilter:
      return "(|" + e->name + kids + ")";
    case ExprKind::kTest:
      return std::string(e->negate ? "(is-not " : "(is ") + e->name + kids + ")";
    case ExprKind::kNot:
      return "(not" + kids + ")";
    case ExprKind::kNeg:
      return "(neg" + kids + ")";
    case ExprKind::kBinary:
    case ExprKind::kAnd:
    case ExprKind::kOr:
      return "(" + e->name + kids + ")";
    case ExprKind::kCond:
      return "(if" + kids + ")";
    case ExprKind::kList:
      return "[" + kids + "]";
    case ExprKind::kDict:
      return "{" + kids + "}";
  }
  return "?";
}

std::string ShowExpression(std::string_view source) {
  auto e = ParseExpression(source);
  EXPECT_TRUE(e.ok()) << source << ": " << e.status();
  return e.ok() ? Show(e->get()) : "<error>";
}

TEST(JinjaParserTest, Precedence) {
  EXPECT_EQ(ShowExpression("1 + 2 * 3"), "(+ 1 (* 2 3))");
  EXPECT_EQ(ShowExpression("(1 + 2) * -x"), "(* (+ 1 2) (neg x))");
  EXPECT_EQ(ShowExpression("a or b and not c == d"), "(or a (and b (not (== c d))))");
  EXPECT_EQ(ShowExpression("'a' ~ b + 1"), "(~ 'a' (+ b 1))");
  EXPECT_EQ(ShowExpression("x if c else y"), "(if x c y)");
  EXPECT_EQ(ShowExpression("a not in b"), "(not in a b)");
}

TEST(JinjaParserTest, PostfixFiltersAndTests) {
  EXPECT_EQ(ShowExpression("m.content[1:] | trim"), "(|trim ([:] (.content m) 1 _ _))");
  EXPECT_EQ(ShowExpression("xs[::-1][0]"), "([] ([:] xs _ _ (neg 1)) 0)");
  EXPECT_EQ(ShowExpression("s.strip('x')"), "(call (.strip s) 'x')");
  EXPECT_EQ(ShowExpression("x is not defined"), "(is-not defined x)");
  EXPECT_EQ(ShowExpression("x is equalto 3"), "(is equalto x 3)");
  EXPECT_EQ(ShowExpression("[1, 'a'] + {'k': none}.items()"),
            "(+ [ 1 'a'] (call (.items { 'k' None})))");
  EXPECT_EQ(ShowExpression("'a' 'b'"), "'ab'");  // adjacent literals join
}

TEST(JinjaParserTest, KeywordArguments) {
  ASSERT_OK_AND_ASSIGN(ExprPtr e, ParseExpression("namespace(a=1, b=x)"));
  EXPECT_EQ(Show(e.get()), "(call namespace 1 x)");
  EXPECT_THAT(e->kwarg_names, ElementsAre("a", "b"));
  EXPECT_THAT(ParseExpression("f(a=1, 2)"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("positional")));
}

TEST(JinjaParserTest, Statements) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<Node> nodes,
      ParseTemplate("A{% for k, v in d.items() if v %}{{ k }}{% else %}none{% endfor %}"
                    "{% if a %}1{% elif b %}2{% else %}3{% endif %}{% set ns.x = 4 %}"));
  ASSERT_EQ(nodes.size(), 4u);
  EXPECT_EQ(nodes[0].type, Node::Type::kText);
  EXPECT_EQ(nodes[0].text, "A");

  const Node& loop = nodes[1];
  ASSERT_EQ(loop.type, Node::Type::kFor);
  EXPECT_THAT(loop.loop_vars, ElementsAre("k", "v"));
  EXPECT_EQ(Show(loop.expr.get()), "(call (.items d))");
  EXPECT_EQ(Show(loop.filter.get()), "v");
  ASSERT_EQ(loop.body.size(), 1u);
  EXPECT_EQ(loop.body[0].type, Node::Type::kOutput);
  EXPECT_EQ(Show(loop.body[0].expr.get()), "k");
  ASSERT_EQ(loop.else_body.size(), 1u);
  EXPECT_EQ(loop.else_body[0].text, "none");

  const Node& branch = nodes[2];
  ASSERT_EQ(branch.type, Node::Type::kIf);
  ASSERT_EQ(branch.branches.size(), 3u);
  EXPECT_EQ(Show(branch.branches[0].first.get()), "a");
  EXPECT_EQ(Show(branch.branches[1].first.get()), "b");
  EXPECT_EQ(branch.branches[2].first, nullptr);  // else
  EXPECT_EQ(branch.branches[2].second[0].text, "3");

  const Node& set = nodes[3];
  ASSERT_EQ(set.type, Node::Type::kSet);
  EXPECT_EQ(set.target, "ns");
  EXPECT_EQ(set.attribute, "x");
  EXPECT_EQ(Show(set.expr.get()), "4");
}

TEST(JinjaParserTest, Errors) {
  EXPECT_THAT(ParseExpression("1 +"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseExpression("a b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'b'")));
  EXPECT_THAT(ParseTemplate("{% if x %}a"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("endif")));
  EXPECT_THAT(ParseTemplate("{% endfor %}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("endfor")));
  EXPECT_THAT(ParseTemplate("{% macro m() %}{% endmacro %}"),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("macro")));
  EXPECT_THAT(ParseTemplate("{% set x %}a{% endset %}"),
              StatusIs(absl::StatusCode::kUnimplemented));
}

}  // namespace
}  // namespace baton::engine::tokenizer::jinja
