#include "engine/tokenizer/jinja.h"

#include <string>

#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::baton::testing::StatusIs;
using V = JinjaValue;

V Messages(std::initializer_list<std::pair<const char*, const char*>> turns) {
  V::Array items;
  for (const auto& [role, content] : turns) {
    items.push_back(V::NewObject({{"role", V::String(role)}, {"content", V::String(content)}}));
  }
  return V::NewArray(std::move(items));
}

std::string Render(std::string_view source, V context = V::NewObject()) {
  auto tmpl = JinjaTemplate::Parse(source);
  EXPECT_TRUE(tmpl.ok()) << tmpl.status();
  if (!tmpl.ok()) return "<parse error>";
  auto out = (*tmpl)->Render(context);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "<render error>";
}

TEST(JinjaTest, TextExpressionsAndOperators) {
  EXPECT_EQ(Render("a{{ 1 + 2 * 3 }}b"), "a7b");
  EXPECT_EQ(Render("{{ 'x' ~ 1 ~ none }}"), "x1None");
  EXPECT_EQ(Render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 1 / 2 }}"), "3 -4 1 0.5");
  EXPECT_EQ(Render("{{ 'ab' + \"cd\" }}{{ [1, 2][1] }}{{ {'k': 'v'}['k'] }}"), "abcd2v");
  EXPECT_EQ(Render("{{ 'yes' if 1 < 2 and not false else 'no' }}"), "yes");
  EXPECT_EQ(Render("{{ 'b' in 'abc' }} {{ 3 not in [1, 2] }} {{ 'k' in {'k': 1} }}"),
            "True True True");
  EXPECT_EQ(Render("{{ 'hello'[1:3] }}{{ [1, 2, 3][::-1] }}{{ 'abc'[-1] }}"), "el[3, 2, 1]c");
}

TEST(JinjaTest, FiltersTestsAndMethods) {
  EXPECT_EQ(
      Render("{{ '  x  ' | trim }}|{{ [1, 2] | length }}|{{ 'a,b' .split(',') | join('+') }}"),
      "x|2|a+b");
  EXPECT_EQ(Render("{{ {'a': [1, 'q\"']} | tojson }}"), "{\"a\": [1, \"q\\\"\"]}");
  EXPECT_EQ(Render("{{ missing | default('d') }}{{ missing is defined }}{{ none is none }}"),
            "dFalseTrue");
  EXPECT_EQ(Render("{{ ' Hi '.strip() }}{{ 'abc'.startswith('ab') }}{{ 'X'.lower() }}"), "HiTruex");
  EXPECT_EQ(Render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"),
            "a=1;b=2;");
  EXPECT_EQ(Render("{{ 'abc' is string }}{{ 3 is number }}{{ [1] is not mapping }}"),
            "TrueTrueTrue");
}

TEST(JinjaTest, SequenceFilters) {
  V context = V::NewObject(
      {{"messages",
        Messages({{"system", "S"}, {"user", "a"}, {"assistant", "b"}, {"user", "c"}})}});
  EXPECT_EQ(Render("{{ (messages | selectattr('role', 'equalto', 'user') | list | last).content }}",
                   context),
            "c");
  EXPECT_EQ(Render("{{ messages | rejectattr('role', 'equalto', 'user') | map(attribute='role') "
                   "| join(',') }}",
                   context),
            "system,assistant");
  EXPECT_EQ(Render("{{ ['a', '', 'b'] | select | join }}{{ ['x', 'Y'] | map('upper') | join }}"),
            "abXY");
}

TEST(JinjaTest, ControlFlowLoopAndNamespace) {
  EXPECT_EQ(Render("{% for x in [1, 2, 3] if x != 2 %}{{ loop.index0 }}{{ x }}"
                   "{% if loop.last %}!{% endif %}{% endfor %}"),
            "0113!");
  EXPECT_EQ(Render("{% for x in [] %}a{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(Render("{% if 0 %}a{% elif 1 %}b{% else %}c{% endif %}"), "b");
  // `set` inside a loop does not leak out; a namespace attribute does.
  EXPECT_EQ(Render("{% set n = 0 %}{% set ns = namespace(n=0) %}{% for x in [1, 2] %}"
                   "{% set n = n + x %}{% set ns.n = ns.n + x %}{% endfor %}{{ n }} {{ ns.n }}"),
            "0 3");
  EXPECT_EQ(Render("{{ range(3) | join(',') }}"), "0,1,2");
}

TEST(JinjaTest, WhitespaceControlAndTrimBlocks) {
  EXPECT_EQ(Render("a  {{- 'b' -}}  c"), "abc");
  // trim_blocks drops the newline after a block tag; lstrip_blocks drops the indentation
  // before one.
  EXPECT_EQ(Render("{% if true %}\n    x\n    {% endif %}\ny"), "    x\ny");
  EXPECT_EQ(Render("{# comment #}\nz"), "z");
}

TEST(JinjaTest, RendersAChatMlConversation) {
  const char* tmpl =
      "{%- for message in messages %}\n"
      "    {{- '<|im_start|>' + message.role + '\\n' + message['content'] + '<|im_end|>\\n' }}\n"
      "{%- endfor %}\n"
      "{%- if add_generation_prompt %}\n"
      "    {{- '<|im_start|>assistant\\n' }}\n"
      "{%- endif %}\n";
  V context = V::NewObject({{"messages", Messages({{"system", "S"}, {"user", "Hi"}})},
                            {"add_generation_prompt", V::Bool(true)}});
  EXPECT_EQ(Render(tmpl, context),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(JinjaTest, Errors) {
  EXPECT_THAT(JinjaTemplate::Parse("{% if x %}a"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(JinjaTemplate::Parse("{{ 'a' "), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(JinjaTemplate::Parse("{% endfor %}"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(JinjaTemplate::Parse("{% macro m() %}{% endmacro %}"),
              StatusIs(absl::StatusCode::kUnimplemented));
  ASSERT_OK_AND_ASSIGN(auto raise, JinjaTemplate::Parse("{{ raise_exception('no system') }}"));
  EXPECT_THAT(raise->Render(V::NewObject()),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("no system")));
  ASSERT_OK_AND_ASSIGN(auto filter, JinjaTemplate::Parse("{{ 1 | frobnicate }}"));
  EXPECT_THAT(filter->Render(V::NewObject()), StatusIs(absl::StatusCode::kUnimplemented));
}

}  // namespace
}  // namespace baton::engine::tokenizer
