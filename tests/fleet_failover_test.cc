// The fleet loses workers: kill -9 of a prefill worker during a run, kill -9 of a decode worker
// with streams in flight (they migrate and finish with the text an undisturbed run gives), and a
// restarted decode worker taken back into use. Real router and worker processes on loopback,
// ../shared's stories260K model.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cluster.h"
#include "tests/fleet_cluster.h"

namespace baton::testing {
namespace {

constexpr int kPromptTokens = 64;

std::unique_ptr<FleetCluster> StartFleet(std::vector<std::string> prefill_flags = {}) {
  std::optional<std::string> model = StoriesModel();
  FleetClusterOptions options;
  options.model_path = *model;
  options.prefill_flags = std::move(prefill_flags);
  absl::StatusOr<std::unique_ptr<FleetCluster>> cluster = FleetCluster::Start(options);
  EXPECT_TRUE(cluster.ok()) << cluster.status();
  return cluster.ok() ? *std::move(cluster) : nullptr;
}

TEST(FleetFailoverTest, KillingAPrefillWorkerMidPrefillLosesNoRequest) {
  // Slow layers (100 ms each, about half a second a prompt) keep prefills in flight, so the kill
  // lands inside the prefill that prefill worker 0 is seen computing.
  if (!StoriesModel()) GTEST_SKIP() << "../shared/models/stories260K.gguf not present";
  std::unique_ptr<FleetCluster> cluster = StartFleet({"--testing_layer_delay_ms=100"});
  ASSERT_NE(cluster, nullptr);
  constexpr int kRequests = 50;
  absl::Mutex mu;
  int done = 0;
  std::vector<absl::Status> statuses(kRequests, absl::UnknownError("not run"));
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < kRequests; i = next++) {
        absl::StatusOr<StreamResult> result =
            cluster->Generate(0, WordPrompt(kPromptTokens, i), 8);
        absl::MutexLock lock(&mu);
        statuses[i] = result.status();
        if (result.ok() && result->tokens.size() != 8u) {
          statuses[i] = absl::InternalError(absl::StrCat(result->tokens.size(), " tokens"));
        }
        ++done;
      }
    });
  }
  {
    absl::MutexLock lock(&mu);
    auto ten_done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return done >= 10; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&ten_done), absl::Seconds(120)));
  }
  // The router's prefills so far, every one of them answered: none was retried yet.
  ASSERT_OK_AND_ASSIGN(std::string before, MetricsText(cluster->router().http_port()));
  EXPECT_EQ(MetricSum(before, "baton_router_prefill_retries_total"), 0);
  const absl::StatusOr<baton::internal::v1::WorkerLoad> computing = WaitForLoad(
      cluster->prefill(0),
      [](const baton::internal::v1::WorkerLoad& load) { return load.running_sequences() > 0; },
      absl::Seconds(60));
  ASSERT_THAT(computing, IsOk()) << "prefill worker 0 never computed a prompt";
  cluster->KillPrefill(0);
  for (std::thread& t : threads) t.join();
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(done, kRequests);
    for (int i = 0; i < kRequests; ++i) EXPECT_THAT(statuses[i], IsOk()) << "request " << i;
  }
  // The prefill the kill cut short went to the other prefill worker.
  ASSERT_OK_AND_ASSIGN(std::string router, MetricsText(cluster->router().http_port()));
  EXPECT_GT(MetricSum(router, "baton_router_prefill_retries_total"), 0);
  EXPECT_THAT(cluster->WaitWorkersIdle(), IsOk());
}

TEST(FleetFailoverTest, KillingADecodeWorkerMidStreamMigratesItsStreams) {
  if (!StoriesModel()) GTEST_SKIP() << "../shared/models/stories260K.gguf not present";
  std::unique_ptr<FleetCluster> cluster = StartFleet();
  ASSERT_NE(cluster, nullptr);
  constexpr int kStreams = 8;
  constexpr int kMaxTokens = 440;  // to the end of the 512-token context: mid-stream at the kill
  std::vector<std::vector<int32_t>> reference(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_OK_AND_ASSIGN(StreamResult result,
                         cluster->Generate(0, WordPrompt(kPromptTokens, 100 + i), kMaxTokens));
    ASSERT_EQ(result.tokens.size(), static_cast<size_t>(kMaxTokens));
    reference[i] = result.tokens;
  }
  ASSERT_THAT(cluster->WaitWorkersIdle(), IsOk());

  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < kStreams; ++i) prompts.push_back(WordPrompt(kPromptTokens, 100 + i));
  ConcurrentStreams streams(cluster.get(), prompts, kMaxTokens);
  ASSERT_TRUE(streams.WaitAllStreamed(3, absl::Seconds(120)));
  cluster->KillDecode(0);
  std::vector<absl::StatusOr<StreamResult>> results = streams.Join();
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_THAT(results[i], IsOk()) << "stream " << i;
    EXPECT_EQ(results[i]->tokens, reference[i]) << "stream " << i;
  }
  ASSERT_OK_AND_ASSIGN(std::string router, MetricsText(cluster->router().http_port()));
  EXPECT_GE(MetricSum(router, "baton_router_migrations_total"), 1);
  EXPECT_THAT(cluster->WaitWorkersIdle(), IsOk());

  // The worker comes back on its port; the router takes it back into use.
  ASSERT_THAT(cluster->RestartDecode(0), IsOk());
  const std::string worker =
      absl::StrCat("worker=\"", FleetCluster::Address(cluster->decode(0)), "\"");
  ASSERT_OK_AND_ASSIGN(router, MetricsText(cluster->router().http_port()));
  const double decisions = MetricSum(router, "baton_router_routing_decisions_total", worker);
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  bool used_again = false;
  for (int i = 0; !used_again && absl::Now() < deadline; ++i) {
    ASSERT_OK_AND_ASSIGN(StreamResult result,
                         cluster->Generate(0, WordPrompt(kPromptTokens, 200 + i), 4));
    EXPECT_EQ(result.tokens.size(), 4u);
    ASSERT_OK_AND_ASSIGN(std::string text, MetricsText(cluster->decode(0).http_port()));
    used_again = MetricSum(text, "baton_decode_requests_total") > 0;
  }
  EXPECT_TRUE(used_again);
  ASSERT_OK_AND_ASSIGN(router, MetricsText(cluster->router().http_port()));
  EXPECT_GT(MetricSum(router, "baton_router_routing_decisions_total", worker), decisions);
  EXPECT_THAT(cluster->WaitWorkersIdle(), IsOk());
}

}  // namespace
}  // namespace baton::testing
