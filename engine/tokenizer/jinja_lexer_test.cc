#include "engine/tokenizer/jinja_lexer.h"

#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer::jinja {
namespace {

using ::baton::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Segments as "text", "{{body}}" or "{%body%}".
std::vector<std::string> Segments(std::string_view source) {
  auto segments = SplitTemplate(source);
  EXPECT_TRUE(segments.ok()) << segments.status();
  std::vector<std::string> out;
  if (!segments.ok()) return out;
  for (const Segment& s : *segments) {
    switch (s.type) {
      case Segment::Type::kText:
        out.push_back(s.text);
        break;
      case Segment::Type::kExpression:
        out.push_back("{{" + s.text + "}}");
        break;
      case Segment::Type::kStatement:
        out.push_back("{%" + s.text + "%}");
        break;
    }
  }
  return out;
}

// Tokens as "kind:text".
std::vector<std::string> Tokens(std::string_view source) {
  auto tokens = TokenizeExpression(source);
  EXPECT_TRUE(tokens.ok()) << tokens.status();
  std::vector<std::string> out;
  if (!tokens.ok()) return out;
  static constexpr const char* kKinds[] = {"name", "str", "int", "float", "op", "end"};
  for (const Token& t : *tokens) {
    out.push_back(std::string(kKinds[static_cast<int>(t.kind)]) + ":" + t.text);
  }
  return out;
}

TEST(JinjaLexerTest, SplitsTextAndTagsAndDropsComments) {
  EXPECT_THAT(Segments("a{{ x }}b{# note #}c{% if y %}d"),
              ElementsAre("a", "{{ x }}", "b", "c", "{% if y %}", "d"));
  EXPECT_THAT(Segments("no tags { here }"), ElementsAre("no tags { here }"));
  EXPECT_THAT(Segments("{{ '}}' }}"), ElementsAre("{{ '}}' }}"));  // quotes hide the closer
  EXPECT_THAT(Segments(""), ElementsAre());
}

TEST(JinjaLexerTest, WhitespaceControl) {
  EXPECT_THAT(Segments("a  {{- x -}}\n  b"), ElementsAre("a", "{{ x }}", "b"));
  // trim_blocks: the newline after a block tag goes; lstrip_blocks: blanks before it too.
  EXPECT_THAT(Segments("x\n  {% if y %}\nz"), ElementsAre("x\n", "{% if y %}", "z"));
  // Expression tags keep their surroundings.
  EXPECT_THAT(Segments("x\n  {{ y }}\nz"), ElementsAre("x\n  ", "{{ y }}", "\nz"));
}

TEST(JinjaLexerTest, UnclosedTagNamesItsOffset) {
  EXPECT_THAT(SplitTemplate("ab{{ x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("offset 2")));
}

TEST(JinjaLexerTest, TokenizesExpressions) {
  EXPECT_THAT(Tokens("x.y[0] | join(', ') ~ 'a\\n' == 1.5 // 2"),
              ElementsAre("name:x", "op:.", "name:y", "op:[", "int:0", "op:]", "op:|", "name:join",
                          "op:(", "str:, ", "op:)", "op:~", "str:a\n", "op:==", "float:1.5",
                          "op://", "int:2", "end:"));
  ASSERT_OK_AND_ASSIGN(std::vector<Token> tokens, TokenizeExpression("42 3.25"));
  EXPECT_EQ(tokens[0].integer, 42);
  EXPECT_DOUBLE_EQ(tokens[1].number, 3.25);
}

TEST(JinjaLexerTest, TokenizerErrors) {
  EXPECT_THAT(TokenizeExpression("'open"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unterminated")));
  EXPECT_THAT(TokenizeExpression("a ; b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("';'")));
}

}  // namespace
}  // namespace baton::engine::tokenizer::jinja
