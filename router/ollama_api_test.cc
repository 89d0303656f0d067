#include "router/ollama_api.h"

#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/status_matchers.h"
#include "common/testing/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "router/testing/fake_backend.h"
#include "router/testing/mounted_api.h"

namespace baton::router {
namespace {

using ::baton::testing::FakeBackend;
using ::baton::testing::HttpCall;
using ::baton::testing::HttpResult;
using ::baton::testing::MountedApi;
using ::baton::testing::RawExchange;
using ::baton::testing::RawJsonPost;
using ::baton::testing::ReadUntilThenHangUp;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;
using Json = nlohmann::json;

baton::v1::GenerateResponse Chunk(const std::string& text) {
  baton::v1::GenerateResponse chunk;
  chunk.set_text_delta(text);
  chunk.add_token_ids(1);
  return chunk;
}

// A final message with usage 6 + 3 and timings: queue 0.25 s, prefill 0.5 s, decode 1.5 s,
// total 2.5 s.
baton::v1::GenerateResponse Final(baton::v1::FinishReason reason) {
  baton::v1::GenerateResponse final_response;
  final_response.set_finish_reason(reason);
  final_response.mutable_usage()->set_prompt_tokens(6);
  final_response.mutable_usage()->set_completion_tokens(3);
  final_response.mutable_usage()->set_total_tokens(9);
  baton::v1::Timings& timings = *final_response.mutable_timings();
  timings.set_queue_seconds(0.25);
  timings.set_prefill_seconds(0.5);
  timings.set_decode_seconds(1.5);
  timings.set_total_seconds(2.5);
  return final_response;
}

// The fields the final object carries for Final(): Ollama's counts and nanoseconds.
void ExpectFinalFields(const Json& reply, const std::string& done_reason) {
  EXPECT_EQ(reply["done"], true);
  EXPECT_EQ(reply["done_reason"], done_reason);
  EXPECT_EQ(reply["total_duration"], 2'500'000'000);
  EXPECT_EQ(reply["load_duration"], 0);
  EXPECT_EQ(reply["prompt_eval_count"], 6);
  EXPECT_EQ(reply["prompt_eval_duration"], 750'000'000);
  EXPECT_EQ(reply["eval_count"], 3);
  EXPECT_EQ(reply["eval_duration"], 1'500'000'000);
}

bool IsOllamaTime(const Json& value) {
  static const std::regex kRfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  return value.is_string() && std::regex_match(value.get<std::string>(), kRfc3339);
}

// The objects of an NDJSON body, checking its framing: one compact JSON object per line, each
// line ended by "\n".
std::vector<Json> NdjsonLines(const std::string& body) {
  std::vector<Json> lines;
  EXPECT_TRUE(absl::EndsWith(body, "\n")) << body;
  for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
    const Json parsed = Json::parse(line);
    EXPECT_TRUE(parsed.is_object()) << line;
    EXPECT_EQ(parsed.dump(), line);
    lines.push_back(parsed);
  }
  return lines;
}

baton::v1::ListModelsResponse TwoModels() {
  baton::v1::ListModelsResponse models;
  baton::v1::ModelInfo& llama = *models.add_models();
  llama.set_id("llama-3b");
  llama.set_architecture("llama");
  llama.set_context_length(8192);
  llama.set_quantization("q4_0");
  baton::v1::ModelInfo& qwen = *models.add_models();
  qwen.set_id("qwen3");
  qwen.set_architecture("qwen3");
  qwen.set_context_length(32768);
  qwen.set_quantization("f16");
  return models;
}

class OllamaApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(HttpApiOptions options) {
    api_.reset();
    ASSERT_OK_AND_ASSIGN(api_, MountedApi::Start(&MountOllamaApi, std::move(options)));
    backend().SetModels(TwoModels());
  }

  FakeBackend& backend() { return api_->backend(); }

  HttpResult Call(const std::string& method, const std::string& path,
                  const std::string& body = "") {
    absl::StatusOr<HttpResult> result = HttpCall(api_->port(), method, path, body);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : HttpResult{};
  }
  HttpResult Post(const std::string& path, const Json& body) {
    return Call("POST", path, body.dump());
  }
  // The status of POST `path` with the JSON `body`.
  int PostStatus(const std::string& path, const std::string& body) {
    const HttpResult result = Post(path, Json::parse(body));
    EXPECT_EQ(result.status, 200) << result.body;
    return result.status;
  }

  // Expects Ollama's {"error": "..."} with `status` and returns the message.
  static std::string ErrorOf(const HttpResult& result, int status) {
    EXPECT_EQ(result.status, status) << result.body;
    EXPECT_EQ(result.headers.at("content-type"), "application/json");
    const Json body = Json::parse(result.body);
    EXPECT_EQ(body.size(), 1u) << result.body;
    return body.value("error", "");
  }

  std::unique_ptr<MountedApi> api_;
};

TEST_F(OllamaApiTest, GenerateMapsOptionsAndAnswersWhole) {
  backend().SetChunks({Chunk("The sky"), Chunk(" is blue.")});
  backend().SetResult(Final(baton::v1::FINISH_REASON_LENGTH));
  const HttpResult result = Post("/api/generate", Json::parse(R"({
      "model": "llama-3b", "prompt": "Why?", "stream": false, "keep_alive": "5m", "format": "",
      "images": [], "options": {"temperature": 0.7, "top_k": 20, "top_p": 0.8, "min_p": 0.1,
      "num_predict": 64, "seed": 7, "stop": ["\n"], "repeat_penalty": 1.2,
      "presence_penalty": 0.5, "frequency_penalty": 0.25, "num_ctx": 4096, "mirostat": 0}})"));
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(result.headers.at("content-type"), "application/json");
  const baton::v1::GenerateRequest request = backend().last_request();
  EXPECT_EQ(request.model(), "llama-3b");
  EXPECT_EQ(request.text(), "Why?");
  const baton::v1::SamplingParams& s = request.sampling();
  EXPECT_FLOAT_EQ(s.temperature(), 0.7f);
  EXPECT_EQ(s.top_k(), 20);
  EXPECT_FLOAT_EQ(s.top_p(), 0.8f);
  EXPECT_FLOAT_EQ(s.min_p(), 0.1f);
  EXPECT_EQ(s.max_tokens(), 64);
  EXPECT_EQ(s.seed(), 7u);
  EXPECT_THAT(s.stop(), ElementsAre("\n"));
  EXPECT_FLOAT_EQ(s.repetition_penalty(), 1.2f);
  EXPECT_FLOAT_EQ(s.presence_penalty(), 0.5f);
  EXPECT_FLOAT_EQ(s.frequency_penalty(), 0.25f);
  EXPECT_EQ(backend().last_context().endpoint, "ollama_generate");

  const Json reply = Json::parse(result.body);
  EXPECT_EQ(reply["model"], "llama-3b");
  EXPECT_TRUE(IsOllamaTime(reply["created_at"])) << reply["created_at"];
  EXPECT_EQ(reply["response"], "The sky is blue.");
  ExpectFinalFields(reply, "length");
}

TEST_F(OllamaApiTest, GeneratePromptForms) {
  // No options: nothing set; num_predict -1 means no limit.
  ASSERT_EQ(Post("/api/generate", Json{{"model", "qwen3"}, {"prompt", "p"}}).status, 200);
  EXPECT_FALSE(backend().last_request().sampling().has_temperature());
  ASSERT_EQ(PostStatus("/api/generate", R"({"model": "qwen3", "prompt": "p",
      "options": {"num_predict": -1}})"),
            200);
  EXPECT_EQ(backend().last_request().sampling().max_tokens(), 0);

  // A system prompt makes a chat of two messages; raw sends the prompt as it is.
  ASSERT_EQ(PostStatus("/api/generate", R"({"model": "qwen3", "prompt": "Hi",
      "system": "Be terse."})"),
            200);
  baton::v1::GenerateRequest request = backend().last_request();
  ASSERT_TRUE(request.has_chat());
  ASSERT_EQ(request.chat().messages_size(), 2);
  EXPECT_EQ(request.chat().messages(0).role(), "system");
  EXPECT_EQ(request.chat().messages(0).content(), "Be terse.");
  EXPECT_EQ(request.chat().messages(1).role(), "user");
  EXPECT_EQ(request.chat().messages(1).content(), "Hi");
  ASSERT_EQ(PostStatus("/api/generate", R"({"model": "qwen3", "prompt": "<s>Hi",
      "system": "ignored", "raw": true})"),
            200);
  EXPECT_EQ(backend().last_request().text(), "<s>Hi");
}

TEST_F(OllamaApiTest, GenerateStreamsNdjsonByDefault) {
  backend().SetChunks({Chunk("Hel"), Chunk(""), Chunk("lo")});
  backend().SetResult(Final(baton::v1::FINISH_REASON_STOP_STRING));
  const HttpResult result = Post("/api/generate", Json{{"model", "qwen3"}, {"prompt", "p"}});
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(result.headers.at("content-type"), "application/x-ndjson");
  const std::vector<Json> lines = NdjsonLines(result.body);
  ASSERT_EQ(lines.size(), 3u) << result.body;
  for (const Json& line : lines) {
    EXPECT_EQ(line["model"], "qwen3");
    EXPECT_TRUE(IsOllamaTime(line["created_at"]));
  }
  // The first line byte for byte, as a client reads it.
  EXPECT_THAT(result.body,
              StartsWith(absl::StrCat(R"({"created_at":)", lines[0]["created_at"].dump(),
                                      R"(,"done":false,"model":"qwen3","response":"Hel"})", "\n")));
  EXPECT_EQ(lines[1]["response"], "lo");
  EXPECT_EQ(lines[2]["response"], "");
  ExpectFinalFields(lines[2], "stop");
  EXPECT_THAT(api_->WaitForCounts(1), ElementsAre(Pair("ollama_generate", 200)));
}

TEST_F(OllamaApiTest, ChatStreamsMessages) {
  backend().SetChunks({Chunk("Hi"), Chunk("!")});
  backend().SetResult(Final(baton::v1::FINISH_REASON_STOP));
  const HttpResult result = Post("/api/chat", Json::parse(R"({"model": "qwen3", "messages": [
      {"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hello"},
      {"role": "assistant", "content": "Hey", "tool_calls": []}, {"role": "user"}],
      "options": {"temperature": 0}})"));
  ASSERT_EQ(result.status, 200);
  const baton::v1::GenerateRequest request = backend().last_request();
  std::vector<std::pair<std::string, std::string>> messages;
  for (const auto& m : request.chat().messages()) messages.emplace_back(m.role(), m.content());
  EXPECT_THAT(messages, ElementsAre(Pair("system", "Be kind."), Pair("user", "Hello"),
                                    Pair("assistant", "Hey"), Pair("user", "")));
  EXPECT_TRUE(request.sampling().has_temperature());
  EXPECT_EQ(backend().last_context().endpoint, "ollama_chat");

  const std::vector<Json> lines = NdjsonLines(result.body);
  ASSERT_EQ(lines.size(), 3u) << result.body;
  EXPECT_EQ(lines[0]["message"], Json::parse(R"({"role": "assistant", "content": "Hi"})"));
  EXPECT_EQ(lines[0]["done"], false);
  EXPECT_FALSE(lines[0].contains("response"));
  EXPECT_EQ(lines[1]["message"]["content"], "!");
  EXPECT_EQ(lines[2]["message"], Json::parse(R"({"role": "assistant", "content": ""})"));
  ExpectFinalFields(lines[2], "stop");
}

TEST_F(OllamaApiTest, ChatWhole) {
  backend().SetChunks({Chunk("Hi"), Chunk(" there")});
  backend().SetResult(Final(baton::v1::FINISH_REASON_LENGTH));
  const HttpResult result = Post("/api/chat", Json::parse(R"({"model": "qwen3", "stream": false,
      "messages": [{"role": "user", "content": "Hello"}]})"));
  ASSERT_EQ(result.status, 200) << result.body;
  const Json reply = Json::parse(result.body);
  EXPECT_EQ(reply["message"], Json::parse(R"({"role": "assistant", "content": "Hi there"})"));
  ExpectFinalFields(reply, "length");
}

TEST_F(OllamaApiTest, DefaultTagIsUnderstood) {
  const HttpResult result =
      Post("/api/generate", Json{{"model", "qwen3:latest"}, {"prompt", "p"}, {"stream", false}});
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(backend().last_request().model(), "qwen3");
  EXPECT_EQ(Json::parse(result.body)["model"], "qwen3:latest");
  // Any other name goes to the backend as it is: the backend judges it.
  Post("/api/generate", Json{{"model", "qwen3:7b"}, {"prompt", "p"}, {"stream", false}});
  EXPECT_EQ(backend().last_request().model(), "qwen3:7b");
}

TEST_F(OllamaApiTest, NothingToGenerateLoadsTheModel) {
  for (const char* body : {R"({"model": "qwen3"})", R"({"model": "qwen3", "prompt": ""})"}) {
    const HttpResult result = Call("POST", "/api/generate", body);
    ASSERT_EQ(result.status, 200) << result.body;
    const Json reply = Json::parse(result.body);
    EXPECT_EQ(reply["done"], true);
    EXPECT_EQ(reply["done_reason"], "load");
    EXPECT_EQ(reply["response"], "");
  }
  const HttpResult chat =
      Call("POST", "/api/chat", R"({"model": "llama-3b:latest", "messages": []})");
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(Json::parse(chat.body)["done_reason"], "load");
  EXPECT_EQ(ErrorOf(Call("POST", "/api/chat", R"({"model": "gpt-9"})"), 404),
            "model 'gpt-9' not found");
  EXPECT_EQ(backend().generate_calls(), 0);
}

TEST_F(OllamaApiTest, RequestShapeErrors) {
  EXPECT_THAT(ErrorOf(Call("POST", "/api/generate", R"({"model": )"), 400),
              StartsWith("malformed JSON"));
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"/api/generate", R"({"prompt": "p"})", "'model' is required"},
      {"/api/chat", R"({"model": ""})", "'model' is required"},
      {"/api/generate", R"({"model": "qwen3", "prompt": 1})", "'prompt' must be a string"},
      {"/api/generate", R"({"model": "qwen3", "prompt": "p", "stream": "no"})",
       "'stream' must be a boolean"},
      {"/api/generate", R"({"model": "qwen3", "prompt": "p", "options": []})",
       "'options' must be an object"},
      {"/api/generate", R"({"model": "qwen3", "prompt": "p", "options": {"temperature": "x"}})",
       "'options.temperature' must be a number"},
      {"/api/generate", R"({"model": "qwen3", "prompt": "p", "options": {"num_predict": 1.5}})",
       "'options.num_predict' must be a 32-bit integer"},
      {"/api/generate", R"({"model": "qwen3", "prompt": "p", "images": ["aGk="]})",
       "images are not supported"},
      {"/api/chat", R"({"model": "qwen3", "messages": [{"role": "user", "content": "x",
          "images": ["aGk="]}]})",
       "images are not supported"},
      {"/api/chat", R"({"model": "qwen3", "messages": [{"content": "x"}]})",
       "'messages[0].role' is required"},
      {"/api/chat", R"({"model": "qwen3", "messages": ["x"]})", "'messages[0]' must be an object"},
  };
  for (const auto& [path, body, message] : cases) {
    EXPECT_EQ(ErrorOf(Call("POST", path, body), 400), message) << body;
  }
  EXPECT_EQ(backend().generate_calls(), 0);
}

TEST_F(OllamaApiTest, BackendErrors) {
  backend().SetResult(absl::NotFoundError("model 'nope' is not served"));
  EXPECT_EQ(ErrorOf(Post("/api/generate", Json{{"model", "nope"}, {"prompt", "p"}}), 404),
            "model 'nope' is not served");
  backend().SetResult(absl::InvalidArgumentError("temperature -1 is below 0"));
  EXPECT_EQ(
      ErrorOf(Post("/api/generate", Json{{"model", "qwen3"}, {"prompt", "p"}, {"stream", false}}),
              400),
      "temperature -1 is below 0");
  EXPECT_THAT(api_->WaitForCounts(2),
              ElementsAre(Pair("ollama_generate", 404), Pair("ollama_generate", 400)));
}

TEST_F(OllamaApiTest, OverloadGets429WithRetryAfter) {
  HttpApiOptions options;
  options.retry_after_seconds = 3;
  Start(options);
  backend().SetResult(absl::ResourceExhaustedError("too many requests in flight"));
  const HttpResult result = Post("/api/chat", Json::parse(R"({"model": "qwen3",
      "messages": [{"role": "user", "content": "x"}]})"));
  EXPECT_EQ(ErrorOf(result, 429), "too many requests in flight");
  EXPECT_EQ(result.headers.at("retry-after"), "3");
}

TEST_F(OllamaApiTest, ErrorAfterStreamingStartedIsTheLastLine) {
  backend().SetChunks({Chunk("par")});
  backend().SetResult(absl::UnavailableError("decode worker lost"));
  const HttpResult result = Post("/api/generate", Json{{"model", "qwen3"}, {"prompt", "p"}});
  ASSERT_EQ(result.status, 200);
  const std::vector<Json> lines = NdjsonLines(result.body);
  ASSERT_EQ(lines.size(), 2u) << result.body;
  EXPECT_EQ(lines[0]["response"], "par");
  EXPECT_EQ(lines[1], Json::parse(R"({"error": "decode worker lost"})"));
  EXPECT_THAT(api_->WaitForCounts(1), ElementsAre(Pair("ollama_generate", 503)));
}

TEST_F(OllamaApiTest, BodyOverTheLimitGets413) {
  HttpApiOptions options;
  options.max_body_bytes = 32;
  Start(options);
  EXPECT_THAT(
      ErrorOf(Post("/api/generate", Json{{"model", "qwen3"}, {"prompt", std::string(64, 'x')}}),
              413),
      HasSubstr("limit is 32"));
  EXPECT_EQ(backend().generate_calls(), 0);
}

TEST_F(OllamaApiTest, ApiKeysGuardEveryRoute) {
  const ApiKeys keys = ApiKeys::FromList({"sk-good"});
  HttpApiOptions options;
  options.api_keys = &keys;
  Start(options);
  const std::string body = R"({"model": "qwen3", "prompt": "p", "stream": false})";
  ASSERT_OK_AND_ASSIGN(std::string missing,
                       RawExchange(api_->port(), RawJsonPost("/api/generate", body)));
  EXPECT_THAT(missing, StartsWith("HTTP/1.1 401"));
  EXPECT_THAT(missing, HasSubstr(R"({"error":)"));
  ASSERT_OK_AND_ASSIGN(
      std::string tags,
      RawExchange(api_->port(), "GET /api/tags HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_THAT(tags, StartsWith("HTTP/1.1 401"));
  ASSERT_OK_AND_ASSIGN(std::string good,
                       RawExchange(api_->port(), RawJsonPost("/api/generate", body,
                                                             "Authorization: Bearer sk-good\r\n")));
  EXPECT_THAT(good, StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(backend().generate_calls(), 1);
}

TEST_F(OllamaApiTest, Tags) {
  const HttpResult result = Call("GET", "/api/tags");
  ASSERT_EQ(result.status, 200);
  const Json body = Json::parse(result.body);
  ASSERT_EQ(body["models"].size(), 2u);
  const Json& llama = body["models"][0];
  EXPECT_EQ(llama["name"], "llama-3b");
  EXPECT_EQ(llama["model"], "llama-3b");
  EXPECT_TRUE(IsOllamaTime(llama["modified_at"]));
  EXPECT_EQ(llama["size"], 0);
  EXPECT_EQ(llama["digest"], "");
  EXPECT_EQ(llama["details"], Json::parse(R"({"parent_model": "", "format": "gguf",
      "family": "llama", "families": ["llama"], "parameter_size": "",
      "quantization_level": "Q4_0"})"));
  EXPECT_EQ(body["models"][1]["details"]["quantization_level"], "F16");
  EXPECT_THAT(api_->WaitForCounts(1), ElementsAre(Pair("/api/tags", 200)));
}

TEST_F(OllamaApiTest, Show) {
  backend().SetChatTemplate("qwen3", "{{ messages }}");
  for (const char* body : {R"({"model": "qwen3"})", R"({"name": "qwen3:latest"})"}) {
    const HttpResult result = Call("POST", "/api/show", body);
    ASSERT_EQ(result.status, 200) << result.body;
    const Json reply = Json::parse(result.body);
    EXPECT_EQ(reply["template"], "{{ messages }}");
    EXPECT_EQ(reply["model_info"], Json::parse(R"({"general.architecture": "qwen3",
                                                   "qwen3.context_length": 32768})"));
    EXPECT_EQ(reply["details"]["family"], "qwen3");
    EXPECT_TRUE(reply["modelfile"].is_string());
    EXPECT_TRUE(reply["parameters"].is_string());
  }
  EXPECT_EQ(ErrorOf(Call("POST", "/api/show", R"({"model": "gpt-9"})"), 404),
            "model 'gpt-9' not found");
  EXPECT_EQ(ErrorOf(Call("POST", "/api/show", R"({})"), 400), "'model' is required");
  EXPECT_EQ(ErrorOf(Call("POST", "/api/show", R"({"model": 1})"), 400), "'model' must be a string");
  // A served model whose template the backend cannot give.
  EXPECT_EQ(Call("POST", "/api/show", R"({"model": "llama-3b"})").status, 404);
}

TEST_F(OllamaApiTest, VersionAndRunningModels) {
  HttpResult result = Call("GET", "/api/version");
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(Json::parse(result.body), Json::parse(R"({"version": "0.5.0"})"));
  result = Call("GET", "/api/ps");
  ASSERT_EQ(result.status, 200);
  const Json body = Json::parse(result.body);
  ASSERT_EQ(body["models"].size(), 2u);
  const Json& qwen = body["models"][1];
  EXPECT_EQ(qwen["name"], "qwen3");
  EXPECT_EQ(qwen["model"], "qwen3");
  EXPECT_EQ(qwen["size_vram"], 0);
  EXPECT_EQ(qwen["details"]["format"], "gguf");
  EXPECT_TRUE(qwen["expires_at"].is_string());
  EXPECT_EQ(Call("POST", "/api/ps", "{}").status, 405);
  EXPECT_EQ(Call("GET", "/api/generate").status, 405);
}

TEST_F(OllamaApiTest, ClientHangingUpMidStreamCancelsTheRequest) {
  constexpr size_t kChunks = 200;
  backend().SetChunks(std::vector<baton::v1::GenerateResponse>(kChunks, Chunk("tok")));
  absl::Notification hung_up;
  backend().SetBeforeChunk([&hung_up](size_t index) {
    if (index == 1) hung_up.WaitForNotificationWithTimeout(absl::Seconds(10));
  });
  ASSERT_OK_AND_ASSIGN(
      std::string received,
      ReadUntilThenHangUp(api_->port(),
                          RawJsonPost("/api/generate", R"({"model": "qwen3", "prompt": "p"})"),
                          "\"response\":\"tok\""));
  hung_up.Notify();
  EXPECT_THAT(api_->WaitForCounts(1), ElementsAre(Pair("ollama_generate", 499)));
  EXPECT_TRUE(backend().sink_refused());
  EXPECT_LT(backend().chunks_accepted(), kChunks);
}

}  // namespace
}  // namespace baton::router
