// Overload at 4x the router's admission limit: with --max_running=2 --max_waiting=2, 16
// requests at once. What does not fit is refused at once (429 in under 50 ms, measured by the
// client, with Retry-After and OpenAI's rate_limit_error), and every admitted request completes
// with the text it has alone.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "common/testing/http_client.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/stories_router_test.h"

namespace baton::testing {
namespace {

using Json = nlohmann::json;

constexpr int kMaxRunning = 2;
constexpr int kMaxWaiting = 2;
constexpr int kRequests = 4 * (kMaxRunning + kMaxWaiting);
constexpr absl::Duration kRefusalBudget = absl::Milliseconds(50);

class RouterOverloadTest : public StoriesRouterTest {
 protected:
  static void SetUpTestSuite() {
    StartRouter({.router_flags = {absl::StrCat("--max_running=", kMaxRunning),
                                  absl::StrCat("--max_waiting=", kMaxWaiting)}});
  }
  static void TearDownTestSuite() { StopRouter(); }
};

struct Outcome {
  absl::Time sent;
  absl::Time answered;
  absl::StatusOr<HttpResult> result;
};

TEST_F(RouterOverloadTest, ExcessIsRefusedFastAndAdmittedRequestsComplete) {
  // Long enough that all requests arrive while the first admitted ones still run.
  const std::string body = Json({{"model", kStoriesModel},
                                 {"prompt", golden().cases[0].prompt},
                                 {"max_tokens", 300},
                                 {"temperature", 0}})
                               .dump();
  ASSERT_OK_AND_ASSIGN(HttpResult alone,
                       HttpCall(router().http_port(), "POST", "/v1/completions", body));
  ASSERT_EQ(alone.status, 200) << alone.body;
  const Json alone_text = Json::parse(alone.body)["choices"][0]["text"];

  std::vector<Outcome> outcomes(kRequests);
  absl::Barrier* start = new absl::Barrier(kRequests);
  std::vector<std::thread> clients;
  for (Outcome& outcome : outcomes) {
    clients.emplace_back([&, start] {
      if (start->Block()) delete start;
      outcome.sent = absl::Now();
      outcome.result = HttpCall(router().http_port(), "POST", "/v1/completions", body);
      outcome.answered = absl::Now();
    });
  }
  for (std::thread& client : clients) client.join();

  int admitted = 0;
  int refused = 0;
  absl::Time last_sent = absl::InfinitePast();
  absl::Time first_completed = absl::InfiniteFuture();
  absl::Duration slowest_refusal;
  for (const Outcome& outcome : outcomes) {
    ASSERT_OK(outcome.result.status());
    last_sent = std::max(last_sent, outcome.sent);
    const HttpResult& result = *outcome.result;
    if (result.status == 200) {
      ++admitted;
      first_completed = std::min(first_completed, outcome.answered);
      EXPECT_EQ(Json::parse(result.body)["choices"][0]["text"], alone_text);
      continue;
    }
    ASSERT_EQ(result.status, 429) << result.body;
    ++refused;
    slowest_refusal = std::max(slowest_refusal, outcome.answered - outcome.sent);
    EXPECT_LT(outcome.answered - outcome.sent, kRefusalBudget);
    EXPECT_TRUE(result.headers.contains("retry-after"));
    const Json error = Json::parse(result.body, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(error.is_discarded()) << result.body;
    EXPECT_EQ(error["error"]["type"], "rate_limit_error") << result.body;
  }
  RecordProperty("slowest_refusal_ms", absl::StrCat(absl::ToDoubleMilliseconds(slowest_refusal)));
  EXPECT_GE(admitted, kMaxRunning + kMaxWaiting);
  // Exactly the limit gets in when every request arrived before an admitted one finished.
  if (last_sent < first_completed) {
    EXPECT_EQ(admitted, kMaxRunning + kMaxWaiting);
    EXPECT_EQ(refused, kRequests - kMaxRunning - kMaxWaiting);
  } else {
    ADD_FAILURE() << "a request finished before all were sent: make max_tokens larger";
  }
  EXPECT_OK(router().WaitWorkersIdle());
  ASSERT_OK_AND_ASSIGN(std::string metrics, router().HttpText("/metrics"));
  EXPECT_TRUE(absl::StrContains(
      metrics, absl::StrCat(R"(baton_router_requests_total{endpoint="openai_completions",)",
                            R"(status="429"} )", refused)))
      << metrics;
}

}  // namespace
}  // namespace baton::testing
