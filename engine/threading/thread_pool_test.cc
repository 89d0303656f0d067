#include "engine/threading/thread_pool.h"

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

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
      EXPECT_LE(calls.load(), ThreadPool::kChunksPerThread * threads);
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

}  // namespace
}  // namespace baton::engine
