#include "router/worker_pool.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_matchers.h"
#include "engine/kv_cache/prefix_hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/testing/fake_monotonic_clock.h"
#include "router/testing/fake_worker.h"

namespace baton::router {
namespace {

namespace v1 = ::baton::internal::v1;
using ::testing::ElementsAre;
using testing::FakeKvFabric;
using testing::FakeWorker;

constexpr absl::Duration kWait = absl::Seconds(20);

ChannelFactory Channels() {
  return [](const std::string& address) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                     WorkerChannelArguments());
  };
}

Resolver NoDns() {
  return [](const std::string&, int) -> absl::StatusOr<std::vector<std::string>> {
    return absl::UnavailableError("no DNS in this test");
  };
}

class WorkerPoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<WorkerPool> MakePool(const std::string& prefill, const std::string& decode,
                                       Resolver resolver = NoDns()) {
    WorkerPoolOptions options;
    options.prefill = prefill;
    options.decode = decode;
    options.watch_interval_millis = 100;
    absl::StatusOr<std::unique_ptr<WorkerPool>> pool =
        WorkerPool::Create(options, Channels(), std::move(resolver), &clock_);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return *std::move(pool);
  }

  static bool WaitIn(const WorkerPool& pool, const std::string& address, bool in) {
    return pool.WaitFor([&](const WorkerPool& p) { return p.InPool(address) == in; }, kWait);
  }

  serving::testing::FakeMonotonicClock clock_;
  FakeKvFabric fabric_;
};

TEST_F(WorkerPoolTest, BadListIsInvalidArgument) {
  WorkerPoolOptions options;
  options.decode = "nohostport";
  EXPECT_THAT(WorkerPool::Create(options, Channels(), NoDns(), &clock_).status(),
              ::baton::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(WorkerPoolTest, KeepsLatestLoadAndAppliesPrefixCacheEvents) {
  auto decode = FakeWorker::Start(v1::WORKER_ROLE_DECODE, &fabric_);
  auto prefill = FakeWorker::Start(v1::WORKER_ROLE_PREFILL, &fabric_);
  auto pool = MakePool(prefill->address(), decode->address());
  ASSERT_TRUE(WaitIn(*pool, decode->address(), true));
  ASSERT_TRUE(WaitIn(*pool, prefill->address(), true));
  EXPECT_TRUE(pool->Configured(v1::WORKER_ROLE_PREFILL));

  const std::vector<int32_t> prompt = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};  // 3 blocks
  const std::vector<uint64_t> hashes =
      kv_cache::PrefixBlockHashes(kv_cache::PrefixHashSeed("fake"), prompt, 4);
  ASSERT_EQ(hashes.size(), 3u);
  v1::WorkerLoad load;
  load.set_running_sequences(2);
  load.mutable_prefix_cache()->set_snapshot(true);
  for (uint64_t h : hashes) load.mutable_prefix_cache()->add_stored(h);
  load.mutable_prefix_cache()->add_stored(12345);
  decode->PublishLoad(load);
  auto cached = [&](int32_t blocks) {
    return pool->WaitFor(
        [&](const WorkerPool& p) {
          std::vector<WorkerView> views = p.Candidates(v1::WORKER_ROLE_DECODE, prompt);
          return views.size() == 1 && views[0].cached_prefix_blocks == blocks;
        },
        kWait);
  };
  ASSERT_TRUE(cached(3));
  std::vector<WorkerView> views = pool->Candidates(v1::WORKER_ROLE_DECODE, prompt);
  EXPECT_EQ(views[0].load.running_sequences(), 2);
  EXPECT_EQ(views[0].prompt_blocks, 3);
  EXPECT_EQ(views[0].cached_prefix_tokens(), 12);
  EXPECT_EQ(views[0].load.prefix_cache().stored_size(), 0);  // applied, not carried

  // A delta removing the middle block: only the first block still counts as a prefix.
  v1::WorkerLoad delta;
  delta.mutable_prefix_cache()->add_removed(hashes[1]);
  decode->PublishLoad(delta);
  ASSERT_TRUE(cached(1));
  // The prefill worker caches nothing.
  EXPECT_EQ(pool->Candidates(v1::WORKER_ROLE_PREFILL, prompt)[0].cached_prefix_blocks, 0);
  // Excluded workers are not candidates.
  EXPECT_TRUE(pool->Candidates(v1::WORKER_ROLE_DECODE, prompt, {decode->address()}).empty());
}

TEST_F(WorkerPoolTest, DeadWorkerLeavesAtOnceAndReturnsAfterBackoff) {
  auto decode = FakeWorker::Start(v1::WORKER_ROLE_DECODE, &fabric_);
  auto pool = MakePool("", decode->address());
  ASSERT_TRUE(WaitIn(*pool, decode->address(), true));

  decode->Stop();
  ASSERT_TRUE(WaitIn(*pool, decode->address(), false));
  decode->Restart();
  // The backoff (200 ms on the pool's clock) has not passed: no attempt is made.
  pool->Maintain();
  EXPECT_FALSE(pool->InPool(decode->address()));
  clock_.Advance(absl::Milliseconds(200));
  pool->Maintain();
  ASSERT_TRUE(WaitIn(*pool, decode->address(), true));
}

TEST_F(WorkerPoolTest, BackoffDoublesWhileTheWorkerStaysDown) {
  auto decode = FakeWorker::Start(v1::WORKER_ROLE_DECODE, &fabric_);
  auto pool = MakePool("", decode->address());
  ASSERT_TRUE(WaitIn(*pool, decode->address(), true));
  const std::string address = decode->address();
  auto failures = [&](int n) {
    return pool->WaitFor(
        [&](const WorkerPool& p) { return p.ConsecutiveFailures(address) == n; }, kWait);
  };
  decode->Stop();
  ASSERT_TRUE(failures(1));  // next attempt 200 ms later
  clock_.Advance(absl::Milliseconds(200));
  pool->Maintain();
  ASSERT_TRUE(failures(2));  // nothing listened; next attempt 400 ms later
  decode->Restart();
  clock_.Advance(absl::Milliseconds(399));
  pool->Maintain();
  EXPECT_FALSE(pool->InPool(address));
  EXPECT_EQ(pool->ConsecutiveFailures(address), 2);
  clock_.Advance(absl::Milliseconds(1));
  pool->Maintain();
  ASSERT_TRUE(WaitIn(*pool, address, true));
  EXPECT_EQ(pool->ConsecutiveFailures(address), 0);
}

TEST_F(WorkerPoolTest, DrainingOrNotServingWorkerLeavesAndReturns) {
  auto decode = FakeWorker::Start(v1::WORKER_ROLE_DECODE, &fabric_);
  auto pool = MakePool("", decode->address());
  ASSERT_TRUE(WaitIn(*pool, decode->address(), true));

  v1::WorkerLoad draining;
  draining.set_draining(true);
  decode->PublishLoad(draining);
  ASSERT_TRUE(WaitIn(*pool, decode->address(), false));
  decode->PublishLoad(v1::WorkerLoad());
  ASSERT_TRUE(WaitIn(*pool, decode->address(), true));

  decode->SetServing(false);
  clock_.Advance(absl::Seconds(1));  // the health check is due
  pool->Maintain();
  EXPECT_FALSE(pool->InPool(decode->address()));
  // Its stream is cancelled and the next attempt scheduled after the backoff.
  ASSERT_TRUE(pool->WaitFor(
      [&](const WorkerPool& p) { return p.ConsecutiveFailures(decode->address()) == 1; }, kWait));
  decode->SetServing(true);
  clock_.Advance(absl::Milliseconds(200));
  pool->Maintain();
  ASSERT_TRUE(WaitIn(*pool, decode->address(), true));
}

TEST_F(WorkerPoolTest, WrongRoleStaysOut) {
  auto prefill = FakeWorker::Start(v1::WORKER_ROLE_PREFILL, &fabric_);
  auto decode = FakeWorker::Start(v1::WORKER_ROLE_DECODE, &fabric_);
  // The prefill worker listed as a decode worker never becomes a decode candidate.
  auto pool = MakePool("", absl::StrCat(prefill->address(), ",", decode->address()));
  ASSERT_TRUE(WaitIn(*pool, decode->address(), true));
  std::vector<WorkerView> views = pool->Candidates(v1::WORKER_ROLE_DECODE, {});
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].address, decode->address());
}

TEST_F(WorkerPoolTest, DnsNamesAreReResolvedOnTheirInterval) {
  auto a = FakeWorker::Start(v1::WORKER_ROLE_DECODE, &fabric_);
  auto b = FakeWorker::Start(v1::WORKER_ROLE_DECODE, &fabric_);
  absl::Mutex mu;
  std::vector<std::string> answer = {a->address()};
  std::vector<std::string> asked;
  Resolver resolver = [&](const std::string& name,
                          int port) -> absl::StatusOr<std::vector<std::string>> {
    absl::MutexLock lock(&mu);
    asked.push_back(absl::StrCat(name, ":", port));
    if (answer.empty()) return absl::UnavailableError("NXDOMAIN");
    return answer;
  };
  auto pool = MakePool("", "dns:///decode.fleet:7000", resolver);
  ASSERT_TRUE(WaitIn(*pool, a->address(), true));
  EXPECT_THAT(pool->Addresses(v1::WORKER_ROLE_DECODE), ElementsAre(a->address()));

  {
    absl::MutexLock lock(&mu);
    answer = {a->address(), b->address()};
  }
  pool->Maintain();  // not due yet
  EXPECT_EQ(pool->Addresses(v1::WORKER_ROLE_DECODE).size(), 1u);
  clock_.Advance(absl::Seconds(10));
  pool->Maintain();
  EXPECT_EQ(pool->Addresses(v1::WORKER_ROLE_DECODE).size(), 2u);
  ASSERT_TRUE(WaitIn(*pool, b->address(), true));

  {
    absl::MutexLock lock(&mu);
    answer = {b->address()};
  }
  clock_.Advance(absl::Seconds(10));
  pool->Maintain();
  EXPECT_THAT(pool->Addresses(v1::WORKER_ROLE_DECODE), ElementsAre(b->address()));
  EXPECT_FALSE(pool->InPool(a->address()));

  // A failed look-up keeps the workers the name had.
  {
    absl::MutexLock lock(&mu);
    answer.clear();
  }
  clock_.Advance(absl::Seconds(10));
  pool->Maintain();
  EXPECT_THAT(pool->Addresses(v1::WORKER_ROLE_DECODE), ElementsAre(b->address()));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(asked, ::testing::Each(std::string("decode.fleet:7000")));
  EXPECT_EQ(asked.size(), 4u);
}

TEST_F(WorkerPoolTest, CountsThisRoutersRequestsInFlight) {
  auto decode = FakeWorker::Start(v1::WORKER_ROLE_DECODE, &fabric_);
  auto pool = MakePool("", decode->address());
  ASSERT_TRUE(WaitIn(*pool, decode->address(), true));
  {
    auto first = pool->Begin(decode->address(), 100);
    auto second = pool->Begin(decode->address(), 20);
    std::vector<WorkerView> views = pool->Candidates(v1::WORKER_ROLE_DECODE, {});
    EXPECT_EQ(views[0].in_flight, 2);
    EXPECT_EQ(views[0].in_flight_prompt_tokens, 120);
  }
  EXPECT_EQ(pool->Candidates(v1::WORKER_ROLE_DECODE, {})[0].in_flight, 0);
}

}  // namespace
}  // namespace baton::router
