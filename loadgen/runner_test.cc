// The runner's scheduling against a scripted StreamClient: the closed loop never exceeds its
// concurrency (warm-up requests go one at a time and are marked), the duration bound stops an
// open loop at its schedule, and failures are recorded with their codes.
#include "loadgen/runner.h"

#include <deque>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "loadgen/workload.h"

namespace baton::loadgen {
namespace {

using ::baton::testing::StatusIs;

// Holds every call until the test completes it (or completes it at once when `instant`).
class ScriptedClient : public StreamClient {
 public:
  explicit ScriptedClient(bool instant) : instant_(instant) {}

  void Start(const RequestSpec& spec, CallEvents events) override {
    if (instant_) {
      Complete(spec, events);
      return;
    }
    absl::MutexLock lock(&mu_);
    pending_.push_back({spec, std::move(events)});
    max_pending_ = std::max(max_pending_, pending_.size());
  }

  // Waits (up to 10 s) for a held call and completes it; false when none came.
  bool CompleteOne() {
    std::pair<RequestSpec, CallEvents> call;
    {
      absl::MutexLock lock(&mu_);
      auto any = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !pending_.empty(); };
      if (!mu_.AwaitWithTimeout(absl::Condition(&any), absl::Seconds(10))) return false;
      call = std::move(pending_.front());
      pending_.pop_front();
    }
    Complete(call.first, call.second);
    return true;
  }

  // Waits (up to 10 s) until `n` calls are held; false when they did not come.
  bool WaitForPending(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pending_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }

  size_t max_pending() const {
    absl::MutexLock lock(&mu_);
    return max_pending_;
  }

 private:
  static void Complete(const RequestSpec& spec, const CallEvents& events) {
    CallResult result;
    if (spec.prompt == "fail") {
      result.error_code = "http:503";
      result.error_message = "no worker";
    } else {
      events.on_chunk(2);
      events.on_chunk(1);
      result.ok = true;
    }
    events.on_done(result);
  }

  const bool instant_;
  mutable absl::Mutex mu_;
  std::deque<std::pair<RequestSpec, CallEvents>> pending_ ABSL_GUARDED_BY(mu_);
  size_t max_pending_ ABSL_GUARDED_BY(mu_) = 0;
};

std::unique_ptr<DatasetWorkload> Prompts(std::vector<std::string> prompts) {
  std::vector<RequestSpec> specs;
  for (std::string& prompt : prompts) specs.push_back({.prompt = std::move(prompt)});
  return *DatasetWorkload::Create(std::move(specs), 3, 1);
}

TEST(RunnerTest, ClosedLoopKeepsItsConcurrencyAfterOneByOneWarmup) {
  ScriptedClient client(/*instant=*/false);
  std::unique_ptr<DatasetWorkload> workload = Prompts({"a"});
  absl::StatusOr<RunResult> result;
  std::thread run([&] {
    result = RunLoad(client, *workload,
                     {.arrivals = {.kind = ArrivalKind::kClosedLoop, .concurrency = 3},
                      .num_requests = 10,
                      .warmup_requests = 2});
  });
  ASSERT_TRUE(client.CompleteOne());
  // The second warm-up request may be out now, but not more: warm-up goes one at a time.
  EXPECT_EQ(client.max_pending(), 1u);
  ASSERT_TRUE(client.CompleteOne());
  // Then the measured requests, three at a time and never more.
  ASSERT_TRUE(client.WaitForPending(3));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.CompleteOne());
  run.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(client.max_pending(), 3u);
  ASSERT_EQ(result->records.size(), 12u);
  for (size_t i = 0; i < result->records.size(); ++i) {
    const RequestRecord& record = result->records[i];
    EXPECT_EQ(record.index, static_cast<int64_t>(i));
    EXPECT_EQ(record.warmup, i < 2);
    EXPECT_TRUE(record.ok);
    EXPECT_EQ(record.output_tokens, 3);  // no usage: the streamed count
    EXPECT_EQ(record.chunk_tokens, (std::vector<int32_t>{2, 1}));
    EXPECT_LE(record.send_s, record.chunk_s[0]);
    EXPECT_LE(record.chunk_s[1], record.end_s);
  }
}

TEST(RunnerTest, DurationStopsTheOpenLoopAtItsSchedule) {
  ScriptedClient client(/*instant=*/true);
  std::unique_ptr<DatasetWorkload> workload = Prompts({"a", "fail"});
  // Fixed rate 100/s for 0.2 s: sends at 0, 10, ..., 190 ms.
  ASSERT_OK_AND_ASSIGN(RunResult result,
                       RunLoad(client, *workload,
                               {.arrivals = {.kind = ArrivalKind::kFixedRate, .rate = 100},
                                .duration = absl::Milliseconds(200)}));
  ASSERT_EQ(result.records.size(), 20u);
  int failed = 0;
  for (const RequestRecord& record : result.records) {
    if (record.ok) continue;
    ++failed;
    EXPECT_EQ(record.error_code, "http:503");
    EXPECT_EQ(record.error_message, "no worker");
  }
  EXPECT_EQ(failed, 10);
  // The last send is not before its scheduled 190 ms.
  EXPECT_GE(result.records.back().send_s - result.records.front().send_s, 0.19 - 1e-3);
}

TEST(RunnerTest, ReportsProgressAndRejectsAnUnboundedRun) {
  ScriptedClient client(/*instant=*/true);
  std::unique_ptr<DatasetWorkload> workload = Prompts({"a"});
  EXPECT_THAT(RunLoad(client, *workload, {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Progress last;
  ASSERT_OK_AND_ASSIGN(RunResult result,
                       RunLoad(client, *workload,
                               {.arrivals = {.kind = ArrivalKind::kClosedLoop, .concurrency = 2},
                                .num_requests = 5,
                                .on_progress = [&](const Progress& p) { last = p; }}));
  EXPECT_EQ(last.sent, 5);
  EXPECT_EQ(last.completed, 5);
  EXPECT_EQ(last.output_tokens, 15);
  EXPECT_EQ(last.target_requests, 5);
}

}  // namespace
}  // namespace baton::loadgen
