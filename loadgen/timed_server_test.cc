// loadgen against the router's real front ends (gRPC and OpenAI HTTP streaming) over a backend
// with injected timing: measured TTFT, TPOT and ITL match the injected values, and goodput counts
// follow the SLO arithmetic on a mix of fast and slow requests.
//
// Tolerances (they must hold on a loaded 2-core machine): the server waits at least the injected
// times, so TTFT and end-to-end latency are never below them by more than clock granularity
// (2 ms); a token gap measured at the client can shrink only when an earlier chunk was delivered
// late, so TPOT (a mean over 7 gaps) and the median ITL get 5 ms below; scheduling delays on a
// busy machine add to everything, so the upper bounds leave 150 ms on a 200 ms TTFT and 25 ms on a
// 40 ms gap (means and medians, not maxima). The goodput mix keeps every
// request at least 250 ms (TTFT) or 40 ms per token (TPOT) away from the SLO line.
#include "loadgen/testing/timed_server.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "loadgen/grpc_stream_client.h"
#include "loadgen/http_stream_client.h"
#include "loadgen/runner.h"
#include "loadgen/summary.h"
#include "loadgen/workload.h"

namespace baton::loadgen {
namespace {

using testing::InjectedTiming;
using testing::TimedServer;

enum class Protocol { kGrpc, kOpenAi };

std::unique_ptr<StreamClient> MakeClient(Protocol protocol, const TimedServer& server,
                                         CallOptions options) {
  options.model = "timed";
  options.timeout = absl::Seconds(60);
  if (protocol == Protocol::kGrpc) {
    return std::make_unique<GrpcStreamClient>(server.grpc_target(), options);
  }
  absl::StatusOr<std::unique_ptr<HttpStreamClient>> client =
      HttpStreamClient::Create(server.http_target(), options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

RequestSpec Spec(std::string prompt, int32_t output_tokens) {
  return RequestSpec{.prompt = std::move(prompt), .output_tokens = output_tokens};
}

absl::StatusOr<RunResult> RunSpecs(StreamClient& client, std::vector<RequestSpec> specs,
                                   int64_t num_requests, int32_t concurrency) {
  absl::StatusOr<std::unique_ptr<DatasetWorkload>> workload =
      DatasetWorkload::Create(std::move(specs), 1, /*seed=*/7);
  if (!workload.ok()) return workload.status();
  RunOptions options{.arrivals = {.kind = ArrivalKind::kClosedLoop, .concurrency = concurrency},
                     .num_requests = num_requests};
  return RunLoad(client, **workload, options);
}

class TimedServerTest : public ::testing::TestWithParam<Protocol> {};

TEST_P(TimedServerTest, MeasuresTheInjectedTiming) {
  constexpr double kFirstMs = 200, kPerTokenMs = 40;
  constexpr int32_t kTokens = 8;
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<TimedServer> server,
      TimedServer::Start([](const baton::v1::GenerateRequest&) {
        return InjectedTiming{absl::Milliseconds(kFirstMs), absl::Milliseconds(kPerTokenMs)};
      }));
  std::unique_ptr<StreamClient> client = MakeClient(GetParam(), *server, {});
  ASSERT_NE(client, nullptr);
  ASSERT_OK_AND_ASSIGN(RunResult result,
                       RunSpecs(*client, {Spec("hello there", kTokens)}, 6, /*concurrency=*/3));
  const Summary summary = Summarize(result.records, result.duration_s, {});
  ASSERT_EQ(summary.completed, 6) << summary.errors_by_code.begin()->first;
  EXPECT_EQ(summary.total_output_tokens, 6 * kTokens);
  EXPECT_GE(summary.ttft_ms.min, kFirstMs - 2);
  EXPECT_LE(summary.ttft_ms.mean, kFirstMs + 150);
  EXPECT_GE(summary.tpot_ms.mean, kPerTokenMs - 5);
  EXPECT_LE(summary.tpot_ms.mean, kPerTokenMs + 25);
  EXPECT_EQ(summary.itl_ms.count, 6 * (kTokens - 1));
  EXPECT_GE(summary.itl_ms.median, kPerTokenMs - 5);
  EXPECT_LE(summary.itl_ms.median, kPerTokenMs + 25);
  const double injected_e2el = kFirstMs + (kTokens - 1) * kPerTokenMs;
  EXPECT_GE(summary.e2el_ms.min, injected_e2el - 2);
  EXPECT_LE(summary.e2el_ms.mean, injected_e2el + 200);
}

TEST_P(TimedServerTest, GoodputCountsTheRequestsThatMetEverySlo) {
  // fast: meets both SLOs; late: first token at 800 ms > 300; slow: 150 ms per token > 60.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TimedServer> server,
                       TimedServer::Start([](const baton::v1::GenerateRequest& request) {
                         const std::string prompt = request.text();
                         if (absl::StartsWith(prompt, "late")) {
                           return InjectedTiming{absl::Milliseconds(800), absl::Milliseconds(10)};
                         }
                         if (absl::StartsWith(prompt, "slow")) {
                           return InjectedTiming{absl::Milliseconds(20), absl::Milliseconds(150)};
                         }
                         return InjectedTiming{absl::Milliseconds(20), absl::Milliseconds(10)};
                       }));
  std::unique_ptr<StreamClient> client = MakeClient(GetParam(), *server, {});
  ASSERT_NE(client, nullptr);
  ASSERT_OK_AND_ASSIGN(RunResult result, RunSpecs(*client,
                                                  {Spec("fast a", 4), Spec("late b", 4),
                                                   Spec("slow c", 4), Spec("fast d", 4)},
                                                  /*num_requests=*/8, /*concurrency=*/4));
  const Slo slo{.ttft_ms = 300, .tpot_ms = 60};
  const Summary summary = Summarize(result.records, result.duration_s, slo);
  ASSERT_EQ(summary.completed, 8);
  EXPECT_EQ(summary.good_requests, 4);  // the four fast ones
  ASSERT_TRUE(summary.request_goodput.has_value());
  EXPECT_DOUBLE_EQ(*summary.request_goodput, 4 / result.duration_s);
  EXPECT_DOUBLE_EQ(summary.request_throughput, 8 / result.duration_s);
  // Only the TTFT SLO: the slow-decoding requests count as good too.
  EXPECT_EQ(Summarize(result.records, result.duration_s, {.ttft_ms = 300}).good_requests, 6);
  // Only the TPOT SLO: the late ones count.
  EXPECT_EQ(Summarize(result.records, result.duration_s, {.tpot_ms = 60}).good_requests, 6);
}

TEST_P(TimedServerTest, SendsTheApiKeyAndReportsAWrongOneByCode) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TimedServer> server,
                       TimedServer::Start(
                           [](const baton::v1::GenerateRequest&) {
                             return InjectedTiming{absl::Milliseconds(1), absl::Milliseconds(1)};
                           },
                           {"sesame"}));
  std::unique_ptr<StreamClient> good = MakeClient(GetParam(), *server, {.api_key = "sesame"});
  std::unique_ptr<StreamClient> bad = MakeClient(GetParam(), *server, {.api_key = "wrong"});
  ASSERT_NE(good, nullptr);
  ASSERT_NE(bad, nullptr);
  ASSERT_OK_AND_ASSIGN(RunResult ok_run, RunSpecs(*good, {Spec("hi", 2)}, 2, 1));
  EXPECT_EQ(Summarize(ok_run.records, ok_run.duration_s, {}).completed, 2);
  ASSERT_OK_AND_ASSIGN(RunResult bad_run, RunSpecs(*bad, {Spec("hi", 2)}, 2, 1));
  const Summary refused = Summarize(bad_run.records, bad_run.duration_s, {});
  EXPECT_EQ(refused.failed, 2);
  const std::string code = GetParam() == Protocol::kGrpc ? "grpc:UNAUTHENTICATED" : "http:401";
  EXPECT_EQ(refused.errors_by_code.count(code), 1u) << refused.errors_by_code.begin()->first << ": "
                                                    << refused.first_error_by_code.begin()->second;
}

TEST_P(TimedServerTest, ChatModeSendsThePromptAsOneUserMessage) {
  std::atomic<int> chat_calls{0};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TimedServer> server,
                       TimedServer::Start([&](const baton::v1::GenerateRequest& request) {
                         if (request.has_chat() && request.chat().messages_size() == 1 &&
                             request.chat().messages(0).role() == "user" &&
                             request.chat().messages(0).content() == "hi there") {
                           ++chat_calls;
                         }
                         return InjectedTiming{absl::Milliseconds(1), absl::Milliseconds(1)};
                       }));
  std::unique_ptr<StreamClient> client =
      MakeClient(GetParam(), *server, {.mode = PromptMode::kChat});
  ASSERT_NE(client, nullptr);
  ASSERT_OK_AND_ASSIGN(RunResult result, RunSpecs(*client, {Spec("hi there", 3)}, 3, 2));
  const Summary summary = Summarize(result.records, result.duration_s, {});
  EXPECT_EQ(summary.completed, 3);
  EXPECT_EQ(summary.total_output_tokens, 9);
  EXPECT_EQ(chat_calls.load(), 3);
}

INSTANTIATE_TEST_SUITE_P(Protocols, TimedServerTest,
                         ::testing::Values(Protocol::kGrpc, Protocol::kOpenAi),
                         [](const ::testing::TestParamInfo<Protocol>& info) {
                           return info.param == Protocol::kGrpc ? "Grpc" : "OpenAi";
                         });

}  // namespace
}  // namespace baton::loadgen
