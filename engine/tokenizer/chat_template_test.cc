#include "engine/tokenizer/chat_template.h"

#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::baton::testing::StatusIs;

// Template texts with the shape of the ones the model families ship. Some are abridged to the
// markers the family detection keys on; the complete ones are also run through the interpreter.
constexpr char kQwen2[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
// Qwen2.5 shape: a tools branch first, then system-or-default.
constexpr char kQwen25[] =
    "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- if messages[0]['role'] == 'system' %}"
    "{{- messages[0]['content'] }}{%- endif %}{{- '<|im_end|>\\n' }}{%- else %}"
    "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + "
    "messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are "
    "Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"
    "{%- endif %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
// Qwen2.5's complete template (tools, tool calls and tool responses), as its GGUF files carry it.
constexpr char kQwen25Full[] = R"TMPL({%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
)TMPL";
// Llama 3.1's template, tool branches shortened.
constexpr char kLlama31Full[] = R"TMPL({{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", "parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {{- message.content }}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
)TMPL";
constexpr char kChatMl[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";
constexpr char kLlama2[] =
    "{% if messages[0]['role'] == 'system' %}{% set system_message = messages[0]['content'] %}"
    "{% endif %}{% for message in loop_messages %}{% if loop.index0 == 0 and system_message %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + "
    "' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + "
    "eos_token }}{% endif %}{% endfor %}";
constexpr char kLlama3[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
    "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
    "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
constexpr char kLlama31[] =
    "{{- bos_token }}{%- set date_string = \"26 Jul 2024\" %}{{- \"<|start_header_id|>system"
    "<|end_header_id|>\\n\\n\" }}{{- \"Cutting Knowledge Date: December 2023\\n\" }}"
    "{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}{%- endfor %}";
constexpr char kMistral[] =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ message['content'] + eos_token}}{% endif %}{% endfor %}";
constexpr char kMistralV7[] =
    "{{- bos_token }}{%- if system_message is defined %}{{- '[SYSTEM_PROMPT]' + system_message "
    "+ '[/SYSTEM_PROMPT]' }}{%- endif %}{%- for message in loop_messages %}{%- if "
    "message['role'] == 'user' %}{{- '[INST]' + message['content'] + '[/INST]' }}{%- endif %}";
constexpr char kPhi3[] =
    "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}"
    "{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}"
    "{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == "
    "'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}"
    "{{ eos_token }}{% endif %}";
constexpr char kZephyr[] =
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + "
    "message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n"
    "{{ '<|system|>\\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\\n'  + message['content'] + "
    "eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n"
    "{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";
constexpr char kGemma[] =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'assistant') %}"
    "{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";
constexpr char kDeepSeek[] =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ 'User: ' + message['content'] + '\\n\\n' }}{% elif message['role'] == 'assistant' %}"
    "{{ 'Assistant: ' + message['content'] + eos_token }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";
constexpr char kDeepSeek3[] =
    "{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if message['role'] "
    "== 'user' %}{{'<｜User｜>' + message['content']}}{%- endif %}{%- endfor -%}"
    "{% if add_generation_prompt %}{{'<｜Assistant｜>'}}{% endif %}";

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."},
    {"user", "Hi"},
    {"assistant", "Hello!"},
    {"user", "2+2?"},
};

std::string Render(const char* tmpl, std::vector<ChatMessage> messages, bool gen = true,
                   std::string bos = "<s>", std::string eos = "</s>") {
  auto t = ChatTemplate::Create(tmpl, bos, eos);
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return "";
  auto out = (*t)->Render(messages, gen);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "";
}

TEST(ChatTemplateTest, RecognizesFamilies) {
  const std::pair<const char*, ChatTemplateFamily> cases[] = {
      {kQwen2, ChatTemplateFamily::kChatMl},        {kChatMl, ChatTemplateFamily::kChatMl},
      {kLlama2, ChatTemplateFamily::kLlama2},       {kLlama3, ChatTemplateFamily::kLlama3},
      {kLlama31, ChatTemplateFamily::kLlama31},     {kMistral, ChatTemplateFamily::kMistral},
      {kMistralV7, ChatTemplateFamily::kMistralV7}, {kPhi3, ChatTemplateFamily::kPhi3},
      {kZephyr, ChatTemplateFamily::kZephyr},       {kGemma, ChatTemplateFamily::kGemma},
      {kDeepSeek, ChatTemplateFamily::kDeepSeek},   {kDeepSeek3, ChatTemplateFamily::kDeepSeek3}};
  for (const auto& [tmpl, family] : cases) {
    ASSERT_OK_AND_ASSIGN(auto t, ChatTemplate::Create(tmpl, "<s>", "</s>"));
    EXPECT_EQ(t->family(), family) << ChatTemplateFamilyName(family);
  }
}

TEST(ChatTemplateTest, ChatMl) {
  EXPECT_EQ(Render(kChatMl, kConversation),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(Render(kChatMl, {{"user", "Hi"}}, /*gen=*/false), "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplateTest, QwenInsertsDefaultSystemOnlyWhenMissing) {
  EXPECT_EQ(Render(kQwen2, {{"user", "Hi"}}),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(Render(kQwen2, {{"system", "S"}, {"user", "Hi"}}),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, Qwen25DefaultSystemAfterToolsBranch) {
  EXPECT_EQ(Render(kQwen25, {{"user", "Hi"}}),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(Render(kQwen25, {{"system", "S"}, {"user", "Hi"}}),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, Llama2) {
  EXPECT_EQ(Render(kLlama2, kConversation),
            "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s>"
            "<s>[INST] 2+2? [/INST]");
}

TEST(ChatTemplateTest, Llama3) {
  EXPECT_EQ(Render(kLlama3, kConversation, true, "<|begin_of_text|>", "<|eot_id|>"),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateTest, Llama31AddsKnowledgeDatePreamble) {
  EXPECT_EQ(Render(kLlama31, {{"user", " Hi "}}, true, "<|begin_of_text|>"),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateTest, Mistral) {
  EXPECT_EQ(Render(kMistral, {{"user", "Hi"}, {"assistant", "Hello!"}, {"user", "2+2?"}}),
            "<s>[INST] Hi [/INST]Hello!</s>[INST] 2+2? [/INST]");
  EXPECT_EQ(Render(kMistral, {{"system", "S"}, {"user", "Hi"}}), "<s>[INST] S\n\nHi [/INST]");
}

TEST(ChatTemplateTest, MistralV7) {
  EXPECT_EQ(
      Render(kMistralV7, kConversation),
      "<s>[SYSTEM_PROMPT]Be brief.[/SYSTEM_PROMPT][INST]Hi[/INST]Hello!</s>[INST]2+2?[/INST]");
}

TEST(ChatTemplateTest, Phi3) {
  EXPECT_EQ(Render(kPhi3, kConversation, true, "<s>", "<|endoftext|>"),
            "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
            "<|user|>\n2+2?<|end|>\n<|assistant|>\n");
  EXPECT_EQ(Render(kPhi3, {{"user", "Hi"}}, false, "<s>", "<|endoftext|>"),
            "<|user|>\nHi<|end|>\n<|endoftext|>");
}

TEST(ChatTemplateTest, Zephyr) {
  EXPECT_EQ(Render(kZephyr, kConversation),
            "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n"
            "<|user|>\n2+2?</s>\n<|assistant|>\n");
}

TEST(ChatTemplateTest, GemmaFoldsSystemIntoFirstUserTurn) {
  EXPECT_EQ(Render(kGemma, kConversation, true, "<bos>", "<eos>"),
            "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
            "<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\n2+2?<end_of_turn>\n"
            "<start_of_turn>model\n");
}

TEST(ChatTemplateTest, DeepSeek) {
  EXPECT_EQ(
      Render(kDeepSeek, kConversation, true, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
      "<｜begin▁of▁sentence｜>Be brief.\n\nUser: Hi\n\nAssistant: Hello!"
      "<｜end▁of▁sentence｜>User: 2+2?\n\nAssistant:");
}

TEST(ChatTemplateTest, DeepSeek3) {
  EXPECT_EQ(
      Render(kDeepSeek3, kConversation, true, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
      "<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜>Hello!"
      "<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜>");
}

TEST(ChatTemplateTest, UnknownTemplatesAreInterpreted) {
  const char* tmpl =
      "{% for m in messages %}[{{ m.role | upper }}] {{ m.content | trim }}\n{% endfor %}"
      "{% if add_generation_prompt %}[ASSISTANT] {% endif %}";
  ASSERT_OK_AND_ASSIGN(auto t, ChatTemplate::Create(tmpl, "<s>", "</s>"));
  EXPECT_EQ(t->family(), ChatTemplateFamily::kJinja);
  ASSERT_OK_AND_ASSIGN(std::string out, t->Render(kConversation, true));
  EXPECT_EQ(out, "[SYSTEM] Be brief.\n[USER] Hi\n[ASSISTANT] Hello!\n[USER] 2+2?\n[ASSISTANT] ");
}

// The family renderers and the interpreter agree on the complete fixture templates.
TEST(ChatTemplateTest, InterpreterAgreesWithFamilyRenderers) {
  const std::vector<ChatMessage> no_system(kConversation.begin() + 1, kConversation.end());
  // (The other fixtures are abridged to their markers.)
  const std::pair<const char*, const std::vector<ChatMessage>*> cases[] = {
      {kQwen2, &kConversation},      {kQwen2, &no_system},      {kChatMl, &kConversation},
      {kQwen25Full, &kConversation}, {kQwen25Full, &no_system}, {kLlama31Full, &kConversation},
      {kLlama31Full, &no_system},    {kLlama3, &kConversation}, {kMistral, &no_system},
      {kPhi3, &kConversation},       {kZephyr, &kConversation}, {kGemma, &no_system},
      {kDeepSeek, &no_system}};
  for (const auto& [tmpl, messages] : cases) {
    ASSERT_OK_AND_ASSIGN(auto t, ChatTemplate::Create(tmpl, "<s>", "</s>"));
    for (bool gen : {true, false}) {
      ASSERT_OK_AND_ASSIGN(std::string family, t->Render(*messages, gen));
      ASSERT_OK_AND_ASSIGN(std::string interpreted, t->RenderWithInterpreter(*messages, gen));
      EXPECT_EQ(family, interpreted) << ChatTemplateFamilyName(t->family()) << " gen=" << gen;
    }
  }
}

TEST(ChatTemplateTest, Errors) {
  EXPECT_THAT(ChatTemplate::Create("", "<s>", "</s>"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ChatTemplate::Create("{% macro m() %}{% endmacro %}{{ m() }}", "", ""),
              StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT(ChatTemplate::Create("{% for m in messages %}{{ m.content }}", "", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto llama2, ChatTemplate::Create(kLlama2, "<s>", "</s>"));
  const std::vector<ChatMessage> two_users = {{"user", "a"}, {"user", "b"}};
  EXPECT_THAT(llama2->Render(two_users, true), StatusIs(absl::StatusCode::kInvalidArgument));
  const std::vector<ChatMessage> tool = {{"tool", "x"}};
  EXPECT_THAT(llama2->Render(tool, true), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(llama2->Render({}, true), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::engine::tokenizer
