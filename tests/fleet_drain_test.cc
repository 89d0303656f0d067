// Drain through the router: SIGTERM to a decode worker with streams in flight; the streams finish
// in full, the worker exits cleanly, and requests sent meanwhile go to the other decode worker.
// Real router and worker processes on loopback, a random model with a 2048-token context.
#include <signal.h>

#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cluster.h"
#include "tests/fleet_cluster.h"

namespace baton::testing {
namespace {

namespace v1 = ::baton::internal::v1;

TEST(FleetDrainTest, DrainingDecodeWorkerFinishesItsStreamsAndGetsNoNewOnes) {
  ASSERT_OK_AND_ASSIGN(std::string model, MakeLongContextModel(51));
  FleetClusterOptions options;
  options.model_path = model;
  options.num_prefill = 1;
  // The grace must cover the streams in flight on a loaded machine.
  options.decode_flags = {"--shutdown_grace_ms=120000"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FleetCluster> cluster, FleetCluster::Start(options));

  constexpr int kStreams = 6;
  constexpr int kMaxTokens = 1200;
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < kStreams; ++i) prompts.push_back(SyntheticPrompt(64, i));
  ConcurrentStreams streams(cluster.get(), prompts, kMaxTokens);
  ASSERT_TRUE(streams.WaitAllStreamed(3, absl::Seconds(120)));
  ASSERT_OK_AND_ASSIGN(std::string before, MetricsText(cluster->decode(1).http_port()));
  const double other_before = MetricSum(before, "baton_decode_requests_total");
  // The leak check of the draining worker, which is gone when the test ends: its reports, watched
  // from before the SIGTERM, show its pool idle while it drains, before it exits.
  absl::Notification watching;
  absl::StatusOr<v1::WorkerLoad> drained_idle = absl::UnknownError("not watched");
  std::thread watcher([&] {
    drained_idle = WaitForLoad(
        cluster->decode(0),
        [&](const v1::WorkerLoad& load) {
          if (!watching.HasBeenNotified()) watching.Notify();
          return load.draining() && PoolIdle(load);
        },
        absl::Seconds(240));
    if (!watching.HasBeenNotified()) watching.Notify();
  });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();
    }
  } joiner{watcher};
  ASSERT_TRUE(watching.WaitForNotificationWithTimeout(absl::Seconds(60)));
  cluster->decode(0).Signal(SIGTERM);
  // The signal is handled asynchronously: requests sent before the worker drains are its own.
  ASSERT_THAT(WaitForLoad(
                  cluster->decode(0), [](const v1::WorkerLoad& load) { return load.draining(); },
                  absl::Seconds(60)),
              IsOk())
      << "the decode worker never reported draining";
  // New requests while it drains: all served, all by the other decode worker.
  constexpr int kNew = 10;
  for (int i = 0; i < kNew; ++i) {
    ASSERT_OK_AND_ASSIGN(StreamResult result, cluster->Generate(0, SyntheticPrompt(64, 50 + i), 4));
    EXPECT_EQ(result.tokens.size(), 4u);
  }
  ASSERT_OK_AND_ASSIGN(std::string after, MetricsText(cluster->decode(1).http_port()));
  EXPECT_GE(MetricSum(after, "baton_decode_requests_total") - other_before, kNew);

  std::vector<absl::StatusOr<StreamResult>> results = streams.Join();
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_THAT(results[i], IsOk()) << "stream " << i;
    EXPECT_EQ(results[i]->tokens.size(), static_cast<size_t>(kMaxTokens)) << "stream " << i;
  }
  ASSERT_OK_AND_ASSIGN(std::string router, MetricsText(cluster->router().http_port()));
  EXPECT_EQ(MetricSum(router, "baton_router_migrations_total"), 0);  // drained, not failed over
  ASSERT_OK_AND_ASSIGN(int exit_code, cluster->WaitDecodeExit(0, absl::Seconds(120)));
  EXPECT_EQ(exit_code, 0);
  watcher.join();
  EXPECT_THAT(drained_idle, IsOk()) << "the draining decode worker's pool never came back idle";
  EXPECT_THAT(cluster->WaitWorkersIdle(), IsOk());
}

}  // namespace
}  // namespace baton::testing
