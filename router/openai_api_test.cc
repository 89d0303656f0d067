#include "router/openai_api.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
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

baton::v1::GenerateResponse Chunk(const std::string& text, std::vector<int32_t> ids = {1}) {
  baton::v1::GenerateResponse chunk;
  chunk.set_text_delta(text);
  for (int32_t id : ids) chunk.add_token_ids(id);
  return chunk;
}

baton::v1::GenerateResponse Final(baton::v1::FinishReason reason, int prompt_tokens = 5,
                                  int completion_tokens = 2) {
  baton::v1::GenerateResponse final_response;
  final_response.set_finish_reason(reason);
  final_response.mutable_usage()->set_prompt_tokens(prompt_tokens);
  final_response.mutable_usage()->set_completion_tokens(completion_tokens);
  final_response.mutable_usage()->set_total_tokens(prompt_tokens + completion_tokens);
  return final_response;
}

void AddLogprob(baton::v1::GenerateResponse& chunk, const std::string& text, float logprob,
                std::vector<std::pair<std::string, float>> top) {
  baton::v1::PositionLogprobs& position = *chunk.add_logprobs();
  position.mutable_chosen()->set_text(text);
  position.mutable_chosen()->set_logprob(logprob);
  for (auto& [top_text, top_logprob] : top) {
    baton::v1::TokenLogprob& alternative = *position.add_top();
    alternative.set_text(top_text);
    alternative.set_logprob(top_logprob);
  }
}

// The JSON payloads of a server-sent event stream, checking its framing: every event is exactly
// "data: <payload>\n\n".
std::vector<std::string> SsePayloads(const std::string& body) {
  std::vector<std::string> payloads;
  EXPECT_TRUE(absl::EndsWith(body, "\n\n")) << body;
  for (absl::string_view event : absl::StrSplit(body, "\n\n", absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(event, "data: ")) << event;
    EXPECT_FALSE(absl::StrContains(event, "\n")) << event;
    payloads.emplace_back(event.substr(6));
  }
  return payloads;
}

class OpenAiApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(HttpApiOptions options) {
    api_.reset();
    ASSERT_OK_AND_ASSIGN(api_, MountedApi::Start(&MountOpenAiApi, std::move(options)));
  }

  FakeBackend& backend() { return api_->backend(); }

  HttpResult Post(const std::string& path, const std::string& body) {
    absl::StatusOr<HttpResult> result = HttpCall(api_->port(), "POST", path, body);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : HttpResult{};
  }
  HttpResult Post(const std::string& path, const Json& body) { return Post(path, body.dump()); }
  // The status of POST `path` with the JSON `body`.
  int PostStatus(const std::string& path, const std::string& body) {
    const HttpResult result = Post(path, Json::parse(body));
    EXPECT_EQ(result.status, 200) << result.body;
    return result.status;
  }

  // Expects an OpenAI error body with `status` and returns its "error" object.
  static Json ErrorOf(const HttpResult& result, int status) {
    EXPECT_EQ(result.status, status) << result.body;
    EXPECT_EQ(result.headers.at("content-type"), "application/json");
    const Json body = Json::parse(result.body);
    EXPECT_EQ(body.size(), 1u) << result.body;
    return body.at("error");
  }

  std::unique_ptr<MountedApi> api_;
};

TEST_F(OpenAiApiTest, CompletionMapsEveryField) {
  backend().SetResult(Final(baton::v1::FINISH_REASON_LENGTH));
  const HttpResult result = Post("/v1/completions", Json::parse(R"({
      "model": "m", "prompt": "Once upon", "max_tokens": 16, "temperature": 0.5, "top_p": 0.9,
      "top_k": 40, "min_p": 0.05, "seed": 42, "stop": ["\n", "END"], "presence_penalty": 0.25,
      "frequency_penalty": -0.5, "repetition_penalty": 1.1, "logprobs": 3, "n": 1,
      "user": "someone", "ignore_eos": true, "echo_unknown_field": {"x": 1}})"));
  ASSERT_EQ(result.status, 200) << result.body;
  const baton::v1::GenerateRequest request = backend().last_request();
  EXPECT_EQ(request.model(), "m");
  EXPECT_EQ(request.text(), "Once upon");
  const baton::v1::SamplingParams& s = request.sampling();
  EXPECT_EQ(s.max_tokens(), 16);
  EXPECT_FLOAT_EQ(s.temperature(), 0.5f);
  EXPECT_FLOAT_EQ(s.top_p(), 0.9f);
  EXPECT_EQ(s.top_k(), 40);
  EXPECT_FLOAT_EQ(s.min_p(), 0.05f);
  EXPECT_EQ(s.seed(), 42u);
  EXPECT_THAT(s.stop(), ElementsAre("\n", "END"));
  EXPECT_FLOAT_EQ(s.presence_penalty(), 0.25f);
  EXPECT_FLOAT_EQ(s.frequency_penalty(), -0.5f);
  EXPECT_FLOAT_EQ(s.repetition_penalty(), 1.1f);
  EXPECT_TRUE(s.logprobs());
  EXPECT_EQ(s.top_logprobs(), 3);
  EXPECT_TRUE(s.ignore_eos());
  EXPECT_EQ(backend().last_context().endpoint, "openai_completions");
  EXPECT_EQ(backend().last_context().deadline, absl::InfiniteFuture());
  // The pipeline traces the request under the id the client sees.
  EXPECT_EQ(request.request_id(), Json::parse(result.body)["id"]);
}

TEST_F(OpenAiApiTest, UnsetAndNullFieldsStayUnset) {
  ASSERT_EQ(PostStatus("/v1/completions", R"({"prompt": "p", "temperature": null,
      "stop": null, "seed": null, "max_tokens": null, "logprobs": null})"),
            200);
  const baton::v1::GenerateRequest request = backend().last_request();
  EXPECT_EQ(request.model(), "");
  EXPECT_FALSE(request.sampling().has_temperature());
  EXPECT_FALSE(request.sampling().has_top_p());
  EXPECT_FALSE(request.sampling().has_seed());
  EXPECT_FALSE(request.sampling().has_repetition_penalty());
  EXPECT_EQ(request.sampling().stop_size(), 0);
  EXPECT_EQ(request.sampling().max_tokens(), 0);
  EXPECT_FALSE(request.sampling().logprobs());
}

TEST_F(OpenAiApiTest, ConventionsTranslated) {
  // A lone stop string, vLLM's top_k -1, a negative seed, a prompt in a list of one.
  ASSERT_EQ(PostStatus("/v1/completions", R"({"prompt": ["p"], "stop": "x", "top_k": -1,
      "seed": -1, "max_tokens": 8.0})"),
            200);
  const baton::v1::GenerateRequest request = backend().last_request();
  EXPECT_EQ(request.text(), "p");
  EXPECT_THAT(request.sampling().stop(), ElementsAre("x"));
  EXPECT_EQ(request.sampling().top_k(), 0);
  EXPECT_EQ(request.sampling().seed(), UINT64_MAX);
  EXPECT_EQ(request.sampling().max_tokens(), 8);
}

TEST_F(OpenAiApiTest, CompletionPromptShapes) {
  for (const char* body : {R"({"model": "m"})", R"({"prompt": ["a", "b"]})",
                           R"({"prompt": [1, 2]})", R"({"prompt": 7})", R"({"prompt": []})"}) {
    const Json error = ErrorOf(Post("/v1/completions", std::string(body)), 400);
    EXPECT_EQ(error["param"], "prompt") << body;
    EXPECT_EQ(error["type"], "invalid_request_error");
  }
  EXPECT_EQ(ErrorOf(Post("/v1/completions", std::string(R"({})")), 400)["message"],
            "'prompt' is required");
  EXPECT_EQ(backend().generate_calls(), 0);
}

TEST_F(OpenAiApiTest, CompletionWholeResponse) {
  backend().SetChunks({Chunk("Hello"), Chunk(""), Chunk(", world")});
  backend().SetResult(Final(baton::v1::FINISH_REASON_LENGTH, 4, 3));
  const int64_t before = absl::ToUnixSeconds(absl::Now());
  const HttpResult result = Post("/v1/completions", Json{{"model", "m"}, {"prompt", "p"}});
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(result.headers.at("content-type"), "application/json");
  const Json body = Json::parse(result.body);
  EXPECT_THAT(body["id"].get<std::string>(), StartsWith("cmpl-"));
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_GE(body["created"].get<int64_t>(), before);
  EXPECT_LE(body["created"].get<int64_t>(), absl::ToUnixSeconds(absl::Now()));
  EXPECT_EQ(body["model"], "m");
  EXPECT_EQ(body["choices"], Json::parse(R"([{"index": 0, "text": "Hello, world",
                                               "logprobs": null, "finish_reason": "length"}])"));
  EXPECT_EQ(body["usage"],
            Json::parse(R"({"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7})"));
}

TEST_F(OpenAiApiTest, CompletionLegacyLogprobs) {
  baton::v1::GenerateResponse first = Chunk("é");
  AddLogprob(first, "é", -0.5f, {{"é", -0.5f}, {"e", -1.5f}});
  baton::v1::GenerateResponse second = Chunk("b");
  AddLogprob(second, "b", -2.0f, {{"a", -0.25f}});  // the chosen token is not among the top
  backend().SetChunks({first, second});
  const HttpResult result = Post("/v1/completions", Json{{"prompt", "p"}, {"logprobs", 2}});
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(Json::parse(result.body)["choices"][0]["logprobs"], Json::parse(R"({
      "tokens": ["é", "b"],
      "token_logprobs": [-0.5, -2.0],
      "top_logprobs": [{"é": -0.5, "e": -1.5}, {"a": -0.25, "b": -2.0}],
      "text_offset": [0, 1]})"));
}

TEST_F(OpenAiApiTest, ChatMapsMessagesAndFields) {
  const HttpResult result = Post("/v1/chat/completions", Json::parse(R"({
      "model": "m",
      "messages": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "name": "ann",
         "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
        {"role": "assistant", "content": null},
        {"role": "user", "content": "Again"}],
      "max_tokens": 10, "max_completion_tokens": 20, "logprobs": true, "top_logprobs": 4,
      "temperature": 0, "stop": "\n\n", "user": "u", "tools": []})"));
  ASSERT_EQ(result.status, 200) << result.body;
  const baton::v1::GenerateRequest request = backend().last_request();
  ASSERT_TRUE(request.has_chat());
  std::vector<std::pair<std::string, std::string>> messages;
  for (const auto& m : request.chat().messages()) messages.emplace_back(m.role(), m.content());
  EXPECT_THAT(messages, ElementsAre(Pair("system", "Be brief."), Pair("user", "Hi there"),
                                    Pair("assistant", ""), Pair("user", "Again")));
  EXPECT_EQ(request.sampling().max_tokens(), 20);
  EXPECT_TRUE(request.sampling().logprobs());
  EXPECT_EQ(request.sampling().top_logprobs(), 4);
  EXPECT_TRUE(request.sampling().has_temperature());
  EXPECT_EQ(request.sampling().temperature(), 0.0f);
  EXPECT_THAT(request.sampling().stop(), ElementsAre("\n\n"));
  EXPECT_EQ(backend().last_context().endpoint, "openai_chat");
  EXPECT_THAT(request.request_id(), StartsWith("chatcmpl-"));
}

TEST_F(OpenAiApiTest, ChatMessageShapes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"model": "m"})", "messages"},
      {R"({"messages": {"role": "user"}})", "messages"},
      {R"({"messages": ["hi"]})", "messages[0]"},
      {R"({"messages": [{"content": "hi"}]})", "messages[0].role"},
      {R"({"messages": [{"role": 1, "content": "hi"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
          {"type": "image_url", "image_url": {"url": "x"}}]}]})",
       "messages[0].content[1].type"},
      {R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})",
       "messages[0].content[0].text"},
      {R"({"messages": [{"role": "user", "content": ["a"]}]})", "messages[0].content[0]"},
      {R"({"messages": [], "logprobs": 1})", "logprobs"},
  };
  for (const auto& [body, param] : cases) {
    EXPECT_EQ(ErrorOf(Post("/v1/chat/completions", body), 400)["param"], param) << body;
  }
  EXPECT_EQ(backend().generate_calls(), 0);
}

TEST_F(OpenAiApiTest, ChatWholeResponseWithLogprobs) {
  baton::v1::GenerateResponse chunk = Chunk("Hi");
  AddLogprob(chunk, "Hi", -0.125f, {{"Hi", -0.125f}, {"Yo", -3.0f}});
  backend().SetChunks({chunk});
  backend().SetResult(Final(baton::v1::FINISH_REASON_STOP_STRING, 9, 1));
  const HttpResult result =
      Post("/v1/chat/completions",
           Json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
                           "logprobs": true, "top_logprobs": 2})"));
  ASSERT_EQ(result.status, 200) << result.body;
  const Json body = Json::parse(result.body);
  EXPECT_THAT(body["id"].get<std::string>(), StartsWith("chatcmpl-"));
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"], Json::parse(R"([{"index": 0,
      "message": {"role": "assistant", "content": "Hi"},
      "finish_reason": "stop",
      "logprobs": {"content": [{"token": "Hi", "logprob": -0.125, "bytes": [72, 105],
          "top_logprobs": [{"token": "Hi", "logprob": -0.125, "bytes": [72, 105]},
                           {"token": "Yo", "logprob": -3.0, "bytes": [89, 111]}]}]}}])"));
  EXPECT_EQ(body["usage"]["total_tokens"], 10);
}

TEST_F(OpenAiApiTest, ChatStreamFraming) {
  backend().SetChunks({Chunk("Hel"), Chunk("", {7}), Chunk("lo")});
  backend().SetResult(Final(baton::v1::FINISH_REASON_STOP));
  const HttpResult result = Post(
      "/v1/chat/completions",
      Json::parse(
          R"({"model": "m", "stream": true, "messages": [{"role": "user", "content": "x"}]})"));
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(result.headers.at("content-type"), "text/event-stream");
  EXPECT_TRUE(absl::EndsWith(result.body, "\n\ndata: [DONE]\n\n")) << result.body;
  const std::vector<std::string> payloads = SsePayloads(result.body);
  // Hel, lo (the empty chunk makes no event), the finish, [DONE].
  ASSERT_EQ(payloads.size(), 4u) << result.body;
  EXPECT_EQ(payloads.back(), "[DONE]");
  std::vector<Json> events;
  for (size_t i = 0; i + 1 < payloads.size(); ++i) events.push_back(Json::parse(payloads[i]));
  const std::string id = events[0]["id"];
  EXPECT_THAT(id, StartsWith("chatcmpl-"));
  for (const Json& event : events) {
    EXPECT_EQ(event["id"], id);
    EXPECT_EQ(event["object"], "chat.completion.chunk");
    EXPECT_EQ(event["model"], "m");
    EXPECT_TRUE(event["created"].is_number_integer());
    EXPECT_FALSE(event.contains("usage"));
  }
  // The first event byte for byte, as a client reads it.
  EXPECT_EQ(payloads[0],
            absl::StrCat(R"({"choices":[{"delta":{"content":"Hel","role":"assistant"},)",
                         R"("finish_reason":null,"index":0,"logprobs":null}],"created":)",
                         events[0]["created"].dump(), R"(,"id":")", id,
                         R"(","model":"m","object":"chat.completion.chunk"})"));
  EXPECT_EQ(events[1]["choices"], Json::parse(R"([{"index": 0, "delta": {"content": "lo"},
      "logprobs": null, "finish_reason": null}])"));
  EXPECT_EQ(events[2]["choices"], Json::parse(R"([{"index": 0, "delta": {}, "logprobs": null,
      "finish_reason": "stop"}])"));
  EXPECT_THAT(api_->WaitForCounts(1), ElementsAre(Pair("openai_chat", 200)));
}

TEST_F(OpenAiApiTest, ChatStreamWithNothingGeneratedStillNamesTheRole) {
  backend().SetResult(Final(baton::v1::FINISH_REASON_LENGTH));
  const HttpResult result =
      Post("/v1/chat/completions",
           Json::parse(R"({"stream": true, "messages": [{"role": "user", "content": "x"}]})"));
  const std::vector<std::string> payloads = SsePayloads(result.body);
  ASSERT_EQ(payloads.size(), 2u) << result.body;
  EXPECT_EQ(Json::parse(payloads[0])["choices"][0]["delta"],
            Json::parse(R"({"role": "assistant", "content": ""})"));
  EXPECT_EQ(Json::parse(payloads[0])["choices"][0]["finish_reason"], "length");
}

TEST_F(OpenAiApiTest, CompletionStreamWithUsage) {
  baton::v1::GenerateResponse chunk = Chunk("A");
  AddLogprob(chunk, "A", -1.0f, {});
  backend().SetChunks({chunk, Chunk("B")});
  backend().SetResult(Final(baton::v1::FINISH_REASON_LENGTH, 3, 2));
  const HttpResult result = Post("/v1/completions", Json::parse(R"({"model": "m", "prompt": "p",
      "stream": true, "stream_options": {"include_usage": true}, "logprobs": 0})"));
  ASSERT_EQ(result.status, 200);
  const std::vector<std::string> payloads = SsePayloads(result.body);
  ASSERT_EQ(payloads.size(), 5u) << result.body;
  EXPECT_EQ(payloads[4], "[DONE]");
  const Json a = Json::parse(payloads[0]), b = Json::parse(payloads[1]),
             finish = Json::parse(payloads[2]), usage = Json::parse(payloads[3]);
  for (const Json& event : {a, b, finish, usage}) {
    EXPECT_EQ(event["object"], "text_completion");
    EXPECT_THAT(event["id"].get<std::string>(), StartsWith("cmpl-"));
  }
  EXPECT_EQ(a["choices"], Json::parse(R"([{"index": 0, "text": "A", "finish_reason": null,
      "logprobs": {"tokens": ["A"], "token_logprobs": [-1.0], "top_logprobs": [{"A": -1.0}],
                   "text_offset": [0]}}])"));
  EXPECT_TRUE(a["usage"].is_null());
  // A chunk without logprobs says so even though they were asked for.
  EXPECT_EQ(b["choices"], Json::parse(R"([{"index": 0, "text": "B", "finish_reason": null,
      "logprobs": null}])"));
  EXPECT_EQ(finish["choices"], Json::parse(R"([{"index": 0, "text": "", "finish_reason": "length",
      "logprobs": null}])"));
  EXPECT_TRUE(finish["usage"].is_null());
  EXPECT_EQ(usage["choices"], Json::array());
  EXPECT_EQ(usage["usage"],
            Json::parse(R"({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})"));
}

TEST_F(OpenAiApiTest, StreamErrorBeforeAnyChunkIsAnOrdinaryErrorResponse) {
  backend().SetResult(absl::NotFoundError("no model 'nope'"));
  const Json error = ErrorOf(
      Post("/v1/completions", Json{{"model", "nope"}, {"prompt", "p"}, {"stream", true}}), 404);
  EXPECT_EQ(error, Json::parse(R"({"message": "no model 'nope'", "type": "invalid_request_error",
                                   "param": null, "code": "model_not_found"})"));
  EXPECT_THAT(api_->WaitForCounts(1), ElementsAre(Pair("openai_completions", 404)));
}

TEST_F(OpenAiApiTest, StreamErrorAfterChunksTravelsInTheStream) {
  backend().SetChunks({Chunk("partial")});
  backend().SetResult(absl::UnavailableError("decode worker lost"));
  const HttpResult result = Post("/v1/completions", Json{{"prompt", "p"}, {"stream", true}});
  ASSERT_EQ(result.status, 200);
  const std::vector<std::string> payloads = SsePayloads(result.body);
  ASSERT_EQ(payloads.size(), 3u) << result.body;
  EXPECT_EQ(Json::parse(payloads[0])["choices"][0]["text"], "partial");
  EXPECT_EQ(Json::parse(payloads[1]),
            Json::parse(R"({"error": {"message": "decode worker lost", "type": "server_error",
                                      "param": null, "code": null}})"));
  EXPECT_EQ(payloads[2], "[DONE]");
  EXPECT_THAT(api_->WaitForCounts(1), ElementsAre(Pair("openai_completions", 503)));
}

TEST_F(OpenAiApiTest, BackendStatusesMapToHttp) {
  const std::vector<std::pair<absl::Status, int>> cases = {
      {absl::InvalidArgumentError("max_tokens 9000 + prompt 10 > context 4096"), 400},
      {absl::NotFoundError("unknown model"), 404},
      {absl::UnavailableError("no workers"), 503},
      {absl::DeadlineExceededError("slow"), 504},
      {absl::InternalError("bug"), 500},
  };
  for (const auto& [status, http_status] : cases) {
    backend().SetResult(status);
    const Json error = ErrorOf(Post("/v1/completions", Json{{"prompt", "p"}}), http_status);
    EXPECT_EQ(error["message"], std::string(status.message()));
    EXPECT_EQ(error["type"], OpenAiErrorType(http_status));
    EXPECT_TRUE(error["param"].is_null());
  }
}

TEST_F(OpenAiApiTest, OverloadGets429WithRetryAfter) {
  HttpApiOptions options;
  options.retry_after_seconds = 7;
  Start(options);
  backend().SetResult(absl::ResourceExhaustedError("queue full"));
  const HttpResult result = Post(
      "/v1/chat/completions", Json::parse(R"({"messages": [{"role": "user", "content": "x"}]})"));
  const Json error = ErrorOf(result, 429);
  EXPECT_EQ(result.headers.at("retry-after"), "7");
  EXPECT_EQ(error["type"], "rate_limit_error");
  EXPECT_EQ(error["code"], "rate_limit_exceeded");
}

TEST_F(OpenAiApiTest, MalformedJsonAndWrongTypes) {
  Json error = ErrorOf(Post("/v1/completions", std::string(R"({"prompt": "p",)")), 400);
  EXPECT_THAT(error["message"].get<std::string>(), StartsWith("malformed JSON"));
  EXPECT_TRUE(error["param"].is_null());
  ErrorOf(Post("/v1/completions", std::string(R"(["prompt"])")), 400);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"prompt": "p", "temperature": "hot"})", "'temperature' must be a number"},
      {R"({"prompt": "p", "max_tokens": 1.5})", "'max_tokens' must be a 32-bit integer"},
      {R"({"prompt": "p", "seed": "1"})", "'seed' must be an integer"},
      {R"({"prompt": "p", "stream": "yes"})", "'stream' must be a boolean"},
      {R"({"prompt": "p", "stop": [1]})", "'stop' must be a string or an array of strings"},
      {R"({"prompt": "p", "model": 3})", "'model' must be a string"},
      {R"({"prompt": "p", "logprobs": true})", "'logprobs' must be a 32-bit integer"},
      {R"({"prompt": "p", "stream_options": {"include_usage": 1}})",
       "'stream_options.include_usage' must be a boolean"},
  };
  for (const auto& [body, message] : cases) {
    error = ErrorOf(Post("/v1/completions", body), 400);
    EXPECT_EQ(error["message"], message);
    EXPECT_EQ(error["param"], message.substr(1, message.find('\'', 1) - 1));
  }
  EXPECT_EQ(backend().generate_calls(), 0);
}

TEST_F(OpenAiApiTest, OnlyOneChoice) {
  const Json error = ErrorOf(Post("/v1/chat/completions", Json::parse(R"({"n": 2,
      "messages": [{"role": "user", "content": "x"}]})")),
                             400);
  EXPECT_EQ(error["message"], "only n=1 is supported");
  EXPECT_EQ(error["param"], "n");
  EXPECT_EQ(Post("/v1/completions", Json{{"prompt", "p"}, {"n", 1}}).status, 200);
}

TEST_F(OpenAiApiTest, BodyOverTheLimitGets413) {
  HttpApiOptions options;
  options.max_body_bytes = 64;
  Start(options);
  const Json error = ErrorOf(Post("/v1/completions", Json{{"prompt", std::string(100, 'x')}}), 413);
  EXPECT_EQ(error["type"], "invalid_request_error");
  EXPECT_EQ(backend().generate_calls(), 0);
  EXPECT_THAT(api_->WaitForCounts(1), ElementsAre(Pair("openai_completions", 413)));
}

TEST_F(OpenAiApiTest, ApiKeys) {
  const ApiKeys keys = ApiKeys::FromList({"sk-good"});
  HttpApiOptions options;
  options.api_keys = &keys;
  Start(options);
  const std::string body = R"({"prompt": "p"})";
  ASSERT_OK_AND_ASSIGN(std::string missing,
                       RawExchange(api_->port(), RawJsonPost("/v1/completions", body)));
  EXPECT_THAT(missing, StartsWith("HTTP/1.1 401"));
  EXPECT_THAT(missing, HasSubstr(R"("type":"authentication_error")"));
  ASSERT_OK_AND_ASSIGN(std::string wrong,
                       RawExchange(api_->port(), RawJsonPost("/v1/completions", body,
                                                             "Authorization: Bearer sk-bad\r\n")));
  EXPECT_THAT(wrong, StartsWith("HTTP/1.1 401"));
  ASSERT_OK_AND_ASSIGN(
      std::string models,
      RawExchange(api_->port(), "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_THAT(models, StartsWith("HTTP/1.1 401"));
  EXPECT_EQ(backend().generate_calls(), 0);
  ASSERT_OK_AND_ASSIGN(std::string good,
                       RawExchange(api_->port(), RawJsonPost("/v1/completions", body,
                                                             "Authorization: Bearer sk-good\r\n")));
  EXPECT_THAT(good, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(api_->WaitForCounts(4),
              ElementsAre(Pair("openai_completions", 401), Pair("openai_completions", 401),
                          Pair("/v1/models", 401), Pair("openai_completions", 200)));
}

TEST_F(OpenAiApiTest, WrongMethodGets405) {
  ASSERT_OK_AND_ASSIGN(HttpResult result, HttpCall(api_->port(), "GET", "/v1/completions"));
  EXPECT_EQ(result.status, 405);
  EXPECT_EQ(result.headers.at("allow"), "POST");
  ASSERT_OK_AND_ASSIGN(result, HttpCall(api_->port(), "POST", "/v1/models", "{}"));
  EXPECT_EQ(result.status, 405);
}

TEST_F(OpenAiApiTest, ListsModels) {
  baton::v1::ListModelsResponse models;
  models.add_models()->set_id("llama-3b");
  models.add_models()->set_id("qwen3-0.6b");
  backend().SetModels(models);
  ASSERT_OK_AND_ASSIGN(HttpResult result, HttpCall(api_->port(), "GET", "/v1/models"));
  ASSERT_EQ(result.status, 200);
  const Json body = Json::parse(result.body);
  EXPECT_EQ(body["object"], "list");
  ASSERT_EQ(body["data"].size(), 2u);
  EXPECT_EQ(body["data"][0]["id"], "llama-3b");
  EXPECT_EQ(body["data"][1]["id"], "qwen3-0.6b");
  for (const Json& model : body["data"]) {
    EXPECT_EQ(model["object"], "model");
    EXPECT_EQ(model["owned_by"], "baton");
    EXPECT_TRUE(model["created"].is_number_integer());
  }
  EXPECT_THAT(api_->WaitForCounts(1), ElementsAre(Pair("/v1/models", 200)));
}

TEST_F(OpenAiApiTest, ClientHangingUpMidStreamCancelsTheRequest) {
  constexpr size_t kChunks = 200;
  backend().SetChunks(std::vector<baton::v1::GenerateResponse>(kChunks, Chunk("tok")));
  absl::Notification hung_up;
  backend().SetBeforeChunk([&hung_up](size_t index) {
    if (index == 1) hung_up.WaitForNotificationWithTimeout(absl::Seconds(10));
  });
  const std::string request =
      RawJsonPost("/v1/chat/completions",
                  R"({"stream": true, "messages": [{"role": "user", "content": "x"}]})");
  ASSERT_OK_AND_ASSIGN(std::string received,
                       ReadUntilThenHangUp(api_->port(), request, "\"content\":\"tok\""));
  hung_up.Notify();
  EXPECT_THAT(api_->WaitForCounts(1), ElementsAre(Pair("openai_chat", 499)));
  EXPECT_TRUE(backend().sink_refused());
  EXPECT_LT(backend().chunks_accepted(), kChunks);
}

TEST_F(OpenAiApiTest, CountsOncePerAnsweredRequest) {
  Post("/v1/completions", Json{{"prompt", "p"}});
  Post("/v1/completions", std::string("{"));
  Post("/v1/chat/completions", Json::parse(R"({"stream": true,
      "messages": [{"role": "user", "content": "x"}]})"));
  EXPECT_THAT(api_->WaitForCounts(3),
              ElementsAre(Pair("openai_completions", 200), Pair("openai_completions", 400),
                          Pair("openai_chat", 200)));
}

}  // namespace
}  // namespace baton::router
