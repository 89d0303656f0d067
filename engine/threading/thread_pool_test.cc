#include "engine/threading/thread_pool.h"

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::engine {
namespace {

using ::baton::testing::StatusIs;

TEST(ThreadPoolTest, RejectsBadCounts) {
  EXPECT_THAT(ThreadPool::Create(0), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ThreadPool::Create(-3), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ThreadPoolTest, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ASSERT_OK_AND_ASSIGN(auto pool, ThreadPool::Create(threads));
    EXPECT_EQ(pool->num_threads(), threads);
    for (int64_t n : {0, 1, 2, 3, 7, 100, 1001}) {
      std::vector<std::atomic<int>> hits(n);
      std::atomic<int> calls{0};
      pool->ParallelFor(n, [&](int64_t begin, int64_t end) {
        ASSERT_LT(begin, end);
        ++calls;
        for (int64_t i = begin; i < end; ++i) ++hits[i];
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << n << " " << i;
      EXPECT_LE(calls.load(), 4 * threads);
    }
  }
}

TEST(ThreadPoolTest, UsesWorkerThreadsAndTheCaller) {
  ASSERT_OK_AND_ASSIGN(auto pool, ThreadPool::Create(3));
  std::mutex mu;
  std::set<std::thread::id> ids;
  pool->ParallelFor(3, [&](int64_t, int64_t) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(std::this_thread::get_id());
    }
    // Slow chunks leave time for the workers to claim theirs.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  });
  EXPECT_GE(ids.size(), 2u);
  EXPECT_TRUE(ids.count(std::this_thread::get_id()));
}

TEST(ThreadPoolTest, ManyBackToBackLoopsAndNesting) {
  ASSERT_OK_AND_ASSIGN(auto pool, ThreadPool::Create(2));
  int64_t total = 0;
  std::atomic<int64_t> sum{0};
  for (int iter = 0; iter < 20000; ++iter) {
    pool->ParallelFor(4, [&](int64_t b, int64_t e) {
      // A nested loop runs inline instead of deadlocking.
      pool->ParallelFor(e - b, [&](int64_t bb, int64_t ee) { sum += ee - bb; });
    });
    total += 4;
  }
  EXPECT_EQ(sum.load(), total);
}

TEST(ThreadPoolTest, ConcurrentCallersAreSerialized) {
  ASSERT_OK_AND_ASSIGN(auto pool, ThreadPool::Create(2));
  std::atomic<int64_t> sum{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        pool->ParallelFor(10, [&](int64_t b, int64_t e) { sum += e - b; });
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(sum.load(), 3 * 2000 * 10);
}

// A worker that holds a chunk while the caller waits for it longer than `stall` (a descheduled
// worker, simulated on a fake clock) sends the loops of the next solo period to the caller
// alone; after the period the workers take chunks again.
TEST(ThreadPoolTest, AStalledWorkerSendsTheNextLoopsToTheCallerAlone) {
  std::atomic<int64_t> now_us{1'000'000};
  absl::Notification caller_waits;
  ThreadPoolOptions options;
  options.stall = absl::Milliseconds(1);
  options.solo_period = absl::Milliseconds(50);
  options.now = [&] { return absl::Microseconds(now_us.load()); };
  options.on_wait_for_workers = [&] {
    if (!caller_waits.HasBeenNotified()) caller_waits.Notify();
  };
  ASSERT_OK_AND_ASSIGN(auto pool, ThreadPool::Create(2, options));
  const std::thread::id caller = std::this_thread::get_id();

  // The caller's first chunk waits for the worker to hold one; the worker's chunk "takes" 5 ms
  // of fake time, ending only once the caller is waiting for it.
  std::atomic<bool> worker_in{false};
  pool->ParallelFor(8, [&](int64_t, int64_t) {
    if (std::this_thread::get_id() == caller) {
      while (!worker_in.load()) std::this_thread::yield();
      return;
    }
    if (worker_in.exchange(true)) return;  // the worker's later chunks, if any
    caller_waits.WaitForNotification();
    now_us += 5000;
  });
  EXPECT_EQ(pool->stalls(), 1);

  // Within the solo period: one call, on the caller, covering everything.
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::set<std::thread::id> ids;
  std::mutex mu;
  auto record = [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lock(mu);
    ranges.emplace_back(b, e);
    ids.insert(std::this_thread::get_id());
  };
  now_us += 49'000;
  pool->ParallelFor(8, record);
  EXPECT_EQ(ranges, (std::vector<std::pair<int64_t, int64_t>>{{0, 8}}));
  EXPECT_EQ(ids, std::set<std::thread::id>{caller});

  // After it: the worker takes a chunk again (the caller's chunks wait until it does).
  now_us += 2'000;
  ranges.clear();
  ids.clear();
  std::atomic<bool> worker_ran{false};
  pool->ParallelFor(8, [&](int64_t b, int64_t e) {
    if (std::this_thread::get_id() != caller) worker_ran = true;
    while (!worker_ran.load()) std::this_thread::yield();
    record(b, e);
  });
  EXPECT_EQ(ranges.size(), 8u);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(pool->stalls(), 1);  // the caller never waited on the fake clock
}

// Waits no longer than the caller's own chunks are not stalls: uneven chunks of a prefill-sized
// loop keep both threads.
TEST(ThreadPoolTest, WaitsShorterThanTwoChunksAreNotStalls) {
  std::atomic<int64_t> now_us{1'000'000};
  ThreadPoolOptions options;
  options.now = [&] { return absl::Microseconds(now_us.load()); };
  ASSERT_OK_AND_ASSIGN(auto pool, ThreadPool::Create(2, options));
  for (int i = 0; i < 200; ++i) {
    // Every chunk "takes" 10 ms of fake time, whoever runs it.
    pool->ParallelFor(8, [&](int64_t, int64_t) { now_us += 10'000; });
  }
  EXPECT_EQ(pool->stalls(), 0);
}

}  // namespace
}  // namespace baton::engine
