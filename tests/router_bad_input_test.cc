// Bad requests to the router's HTTP APIs, each answered with its documented status and error
// body, while 8 good streams (OpenAI SDK) run through the same router and come out exactly as
// they do alone; a client that disconnects mid-stream leaves no KV block taken on either worker.
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/raw_http.h"
#include "tests/stories_router_test.h"

namespace baton::testing {
namespace {

using Json = nlohmann::json;

constexpr char kApiKey[] = "sk-e2e-bad-input";
constexpr int64_t kMaxBodyBytes = 64 << 10;
// Long enough that the good streams are still running when every bad request has its answer.
constexpr int32_t kStreamTokens = 400;
constexpr int kConcurrentStreams = 8;

class RouterBadInputTest : public StoriesRouterTest {
 protected:
  static void SetUpTestSuite() {
    StartRouter({.router_flags = {absl::StrCat("--max_body_bytes=", kMaxBodyBytes)},
                 .api_keys = {kApiKey}});
  }
  static void TearDownTestSuite() { StopRouter(); }
};

enum class Api { kOpenAi, kOllama };

struct BadRequest {
  std::string name;
  std::string path;
  std::string body;
  int expected_status;
  Api api = Api::kOpenAi;
  // The Authorization header; nullopt sends none.
  std::optional<std::string> authorization = absl::StrCat("Bearer ", kApiKey);
  // OpenAI's error.param, when the request names one field at fault.
  std::optional<std::string> param;
  // Strings the error message must contain.
  std::vector<std::string> message_has;
};

std::string Completion(const std::string& fields) {
  return absl::StrCat(R"({"model": "stories260K", "prompt": "Once upon a time", )", fields, "}");
}

// Checks the status and the API's error body: OpenAI's {"error": {message, type, param, code}}
// or Ollama's {"error": "..."}.
void ExpectError(const BadRequest& bad, const RawHttpResponse& response) {
  SCOPED_TRACE(bad.name);
  EXPECT_EQ(response.status, bad.expected_status) << response.body;
  EXPECT_TRUE(absl::StartsWith(response.headers.at("content-type"), "application/json"));
  const Json body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(body.is_discarded()) << "error body is not JSON: " << response.body;
  std::string message;
  if (bad.api == Api::kOllama) {
    ASSERT_TRUE(body.contains("error") && body["error"].is_string()) << response.body;
    message = body["error"];
  } else {
    ASSERT_TRUE(body.contains("error") && body["error"].is_object()) << response.body;
    const Json& error = body["error"];
    ASSERT_TRUE(error["message"].is_string()) << response.body;
    message = error["message"];
    EXPECT_TRUE(error.contains("param") && error.contains("code")) << response.body;
    const char* type =
        bad.expected_status == 401 ? "authentication_error" : "invalid_request_error";
    EXPECT_EQ(error["type"], type) << response.body;
    if (bad.param) {
      EXPECT_EQ(error["param"], *bad.param) << response.body;
    }
  }
  EXPECT_FALSE(message.empty());
  for (const std::string& part : bad.message_has) {
    EXPECT_TRUE(absl::StrContains(message, part)) << "'" << part << "' not in: " << message;
  }
}

std::vector<BadRequest> BadRequests(int32_t long_prompt_tokens, int32_t context_length,
                                    const std::string& long_prompt) {
  const std::string chat = "/v1/chat/completions";
  const std::string completions = "/v1/completions";
  return {
      {.name = "malformed JSON",
       .path = completions,
       .body = R"({"model": "stories260K", "pr)",
       .expected_status = 400},
      {.name = "prompt is a number",
       .path = completions,
       .body = R"({"model": "stories260K", "prompt": 5})",
       .expected_status = 400,
       .param = "prompt"},
      {.name = "max_tokens is a string",
       .path = completions,
       .body = Completion(R"("max_tokens": "ten")"),
       .expected_status = 400,
       .param = "max_tokens"},
      {.name = "temperature is a string",
       .path = completions,
       .body = Completion(R"("temperature": "hot")"),
       .expected_status = 400,
       .param = "temperature"},
      {.name = "stream is a string",
       .path = completions,
       .body = Completion(R"("stream": "yes")"),
       .expected_status = 400,
       .param = "stream"},
      {.name = "messages is a string",
       .path = chat,
       .body = R"({"model": "stories260K", "messages": "hi"})",
       .expected_status = 400,
       .param = "messages"},
      {.name = "body is an array", .path = completions, .body = "[1, 2]", .expected_status = 400},
      {.name = "unknown model",
       .path = completions,
       .body = R"({"model": "no-such-model", "prompt": "Once"})",
       .expected_status = 404,
       .message_has = {"no-such-model"}},
      {.name = "negative max_tokens",
       .path = completions,
       .body = Completion(R"("max_tokens": -1)"),
       .expected_status = 400},
      {.name = "huge max_tokens",
       .path = completions,
       .body = Completion(R"("max_tokens": 1000000000)"),
       .expected_status = 400},
      {.name = "prompt over the context",
       .path = completions,
       .body = Json({{"model", kStoriesModel}, {"prompt", long_prompt}, {"max_tokens", 1}}).dump(),
       .expected_status = 400,
       .message_has = {absl::StrCat(long_prompt_tokens), absl::StrCat(context_length)}},
      {.name = "invalid UTF-8 in a JSON string",
       .path = completions,
       .body = "{\"model\": \"stories260K\", \"prompt\": \"Once \xff\xfe upon\"}",
       .expected_status = 400},
      {.name = "no API key",
       .path = completions,
       .body = Completion(R"("max_tokens": 2)"),
       .expected_status = 401,
       .authorization = std::nullopt},
      {.name = "wrong API key",
       .path = completions,
       .body = Completion(R"("max_tokens": 2)"),
       .expected_status = 401,
       .authorization = "Bearer sk-wrong"},
      {.name = "no API key on /v1/models",
       .path = "/v1/models",
       .body = "",
       .expected_status = 401,
       .authorization = std::nullopt},
      {.name = "body over --max_body_bytes",
       .path = completions,
       .body = Json({{"model", kStoriesModel}, {"prompt", std::string(kMaxBodyBytes, 'a')}}).dump(),
       .expected_status = 413},
      {.name = "Ollama: malformed JSON",
       .path = "/api/generate",
       .body = R"({"model": )",
       .expected_status = 400,
       .api = Api::kOllama},
      {.name = "Ollama: unknown model",
       .path = "/api/chat",
       .body = R"({"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]})",
       .expected_status = 404,
       .api = Api::kOllama},
      {.name = "Ollama: wrong API key",
       .path = "/api/generate",
       .body = R"({"model": "stories260K", "prompt": "Once"})",
       .expected_status = 401,
       .api = Api::kOllama,
       .authorization = "Bearer sk-wrong"},
  };
}

// One streamed completion of `prompt` as the OpenAI SDK makes it.
Json StreamCall(const std::string& prompt) {
  return {{"api", "completions"},
          {"params",
           {{"model", kStoriesModel},
            {"prompt", prompt},
            {"max_tokens", kStreamTokens},
            {"temperature", 0},
            {"stream", true},
            {"stream_options", {{"include_usage", true}}}}}};
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

TEST_F(RouterBadInputTest, BadRequestsGetTheirStatusWhileGoodStreamsRunUnchanged) {
  // The good streams' text alone, one at a time.
  Json alone_calls = Json::array();
  for (const GoldenCase& golden_case : golden().cases) {
    alone_calls.push_back(StreamCall(golden_case.prompt));
  }
  ASSERT_OK_AND_ASSIGN(Json alone, OpenAi(alone_calls));
  for (const Json& result : alone) ASSERT_TRUE(CallOk(result));

  // Inputs that need the router's numbers.
  ASSERT_OK_AND_ASSIGN(baton::v1::ListModelsResponse models, router().ListModels());
  const int32_t context_length = models.models(0).context_length();
  std::string long_prompt;
  for (int i = 0; i < context_length / 4; ++i) long_prompt += "Once upon a time ";
  ASSERT_OK_AND_ASSIGN(baton::v1::TokenizeResponse long_tokens,
                       router().Tokenize(long_prompt, true));
  ASSERT_GT(long_tokens.token_ids_size(), context_length);

  Json concurrent_calls = Json::array();
  for (int i = 0; i < kConcurrentStreams; ++i) {
    concurrent_calls.push_back(StreamCall(golden().cases[i % golden().cases.size()].prompt));
  }
  absl::StatusOr<Json> concurrent;
  std::thread streams([&] { concurrent = OpenAi(concurrent_calls, /*parallel=*/true); });
  // Send the bad requests once every good stream is decoding.
  bool all_running = false;
  for (const absl::Time give_up = absl::Now() + absl::Seconds(20); absl::Now() < give_up;) {
    absl::StatusOr<::baton::internal::v1::WorkerLoad> load =
        Cluster::GetLoad(router().workers().decode().grpc_port());
    if (load.ok() && load->running_sequences() >= kConcurrentStreams) {
      all_running = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(all_running) << "the good streams never ran all at once";
  const int64_t bad_started_ms = NowMs();
  for (const BadRequest& bad :
       BadRequests(long_tokens.token_ids_size(), context_length, long_prompt)) {
    std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}};
    if (bad.authorization) headers["Authorization"] = *bad.authorization;
    absl::StatusOr<RawHttpResponse> response =
        SendRaw(router().http_port(),
                RequestText(bad.body.empty() ? "GET" : "POST", bad.path, headers, bad.body));
    ASSERT_OK(response.status()) << bad.name;
    ExpectError(bad, *response);
  }
  // A client that leaves after the first event.
  {
    ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<StreamingRequest> leaving,
        StreamingRequest::Send(router().http_port(),
                               RequestText("POST", "/v1/completions",
                                           {{"Content-Type", "application/json"},
                                            {"Authorization", absl::StrCat("Bearer ", kApiKey)}},
                                           StreamCall(golden().cases[0].prompt)["params"].dump())));
    ASSERT_OK(leaving->ReadUntil("data: {", absl::Seconds(20)).status());
  }
  const int64_t bad_answered_ms = NowMs();
  streams.join();

  ASSERT_OK(concurrent.status());
  ASSERT_EQ(concurrent->size(), static_cast<size_t>(kConcurrentStreams));
  for (int i = 0; i < kConcurrentStreams; ++i) {
    const Json& result = (*concurrent)[i];
    ASSERT_TRUE(CallOk(result));
    const Json& expected = alone[i % alone.size()]["ok"];
    EXPECT_EQ(result["ok"]["text"], expected["text"]) << "stream " << i;
    EXPECT_EQ(result["ok"]["finish_reason"], expected["finish_reason"]) << "stream " << i;
    EXPECT_EQ(result["ok"]["usage"], expected["usage"]) << "stream " << i;
    EXPECT_GT(result["finished_ms"].get<int64_t>(), bad_answered_ms)
        << "stream " << i << " ended before the bad requests were all answered ("
        << bad_answered_ms - bad_started_ms << " ms): make kStreamTokens larger";
  }
  // Every KV block free again on both workers, including the left stream's.
  EXPECT_OK(router().WaitWorkersIdle());
  // ... because the router saw the client go (499), not because that stream ran to its end.
  ASSERT_OK_AND_ASSIGN(std::string metrics, router().HttpText("/metrics"));
  EXPECT_TRUE(absl::StrContains(
      metrics, R"(baton_router_requests_total{endpoint="openai_completions",status="499"} 1)"))
      << metrics;
}

}  // namespace
}  // namespace baton::testing
