#include "router/fleet_runner.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/metrics.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "router/routing_policy.h"
#include "serving/testing/fake_monotonic_clock.h"
#include "router/testing/fake_worker.h"
#include "router/worker_pool.h"

namespace baton::router {
namespace {

namespace v1 = ::baton::internal::v1;
using ::baton::testing::StatusIs;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using testing::FakeGenerate;
using testing::FakeKvFabric;
using testing::FakeWorker;

Resolver NoDns() {
  return [](const std::string&, int) -> absl::StatusOr<std::vector<std::string>> {
    return absl::UnavailableError("no DNS in this test");
  };
}

std::vector<int32_t> Prompt(int32_t seed, int32_t length = 20) {
  std::vector<int32_t> prompt;
  for (int32_t i = 0; i < length; ++i) prompt.push_back(3 + (seed * 31 + i * 7) % 400);
  return prompt;
}

DisaggRequest Request(std::vector<int32_t> prompt, int32_t max_tokens) {
  DisaggRequest request;
  request.request_id = "r";
  request.prompt = std::move(prompt);
  request.sampling.set_temperature(0);
  request.sampling.set_max_tokens(max_tokens);
  request.timeout = absl::Seconds(30);
  return request;
}

// Two prefill and two decode fakes behind a pool, a round-robin policy and the runner.
class FleetRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      prefill_.push_back(FakeWorker::Start(v1::WORKER_ROLE_PREFILL, &fabric_));
      decode_.push_back(FakeWorker::Start(v1::WORKER_ROLE_DECODE, &fabric_));
    }
    // Round robin starts at the lowest address.
    if (decode_[1]->address() < decode_[0]->address()) std::swap(decode_[0], decode_[1]);
    if (prefill_[1]->address() < prefill_[0]->address()) std::swap(prefill_[0], prefill_[1]);
  }

  void StartRunner(FleetOptions options = {}, const std::string& policy = "round_robin") {
    WorkerPoolOptions pool_options;
    pool_options.prefill = absl::StrCat(prefill_[0]->address(), ",", prefill_[1]->address());
    pool_options.decode = absl::StrCat(decode_[0]->address(), ",", decode_[1]->address());
    auto pool = WorkerPool::Create(
        pool_options,
        [](const std::string& address) {
          return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                           WorkerChannelArguments());
        },
        NoDns(), &clock_);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    ASSERT_TRUE(pool_->WaitFor(
        [](const WorkerPool& p) {
          return p.Candidates(v1::WORKER_ROLE_PREFILL, {}).size() == 2 &&
                 p.Candidates(v1::WORKER_ROLE_DECODE, {}).size() == 2;
        },
        absl::Seconds(20)));
    auto made = MakeRoutingPolicy(policy, {.seed = 1});
    ASSERT_TRUE(made.ok());
    policy_ = *std::move(made);
    metrics_ = std::make_unique<FleetMetrics>(registry_, policy);
    runner_ = std::make_unique<FleetRunner>(pool_.get(), policy_.get(), metrics_.get(), options);
  }

  std::string Metrics() const { return common::SerializeMetrics(registry_); }

  // Every Prefill call of prefill worker `i` first waits until the decode workers answered three
  // lease renewals (more than one lease of real time), for up to 30 s; `renewed` says whether
  // they did.
  void WaitForRenewalsInPrefill(int i, bool* renewed) {
    prefill_[i]->OnPrefill([this, renewed] {
      auto renewals = [this] { return decode_[0]->renewals() + decode_[1]->renewals(); };
      const absl::Time deadline = absl::Now() + absl::Seconds(30);
      while (renewals() < 3 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
      *renewed = renewals() >= 3;
    });
  }

  serving::testing::FakeMonotonicClock clock_;
  FakeKvFabric fabric_;
  std::vector<std::unique_ptr<FakeWorker>> prefill_, decode_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<RoutingPolicy> policy_;
  prometheus::Registry registry_;
  std::unique_ptr<FleetMetrics> metrics_;
  std::unique_ptr<FleetRunner> runner_;
};

TEST_F(FleetRunnerTest, SpreadsRequestsOverEveryWorker) {
  StartRunner();
  for (int i = 0; i < 6; ++i) {
    ASSERT_OK_AND_ASSIGN(DisaggResult result, runner_->Generate(Request(Prompt(i), 5), nullptr));
    EXPECT_THAT(result.tokens, ElementsAreArray(FakeGenerate(Prompt(i), 5)));
    EXPECT_EQ(result.finished.completion_tokens(), 5);
    EXPECT_EQ(result.finished.prompt_tokens(), 20);
  }
  for (auto* workers : {&prefill_, &decode_}) {
    for (auto& worker : *workers) {
      EXPECT_EQ(worker->decode_calls() + worker->prefill_calls(), 3) << worker->address();
    }
  }
  EXPECT_THAT(Metrics(), HasSubstr(absl::StrCat(
                             "baton_router_routing_decisions_total{policy=\"round_robin\",pool="
                             "\"decode\",worker=\"",
                             decode_[0]->address(), "\"} 3")));
}

TEST_F(FleetRunnerTest, FailedPrefillIsRetriedOnAnotherWorker) {
  StartRunner();
  prefill_[0]->FailPrefill(grpc::StatusCode::UNAVAILABLE);
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(DisaggResult result, runner_->Generate(Request(Prompt(i), 4), nullptr));
    EXPECT_THAT(result.tokens, ElementsAreArray(FakeGenerate(Prompt(i), 4)));
  }
  EXPECT_EQ(prefill_[0]->prefill_calls(), 2);  // its turns, each retried on the other
  EXPECT_EQ(prefill_[1]->prefill_calls(), 4);
  EXPECT_THAT(Metrics(), HasSubstr("baton_router_prefill_retries_total 2"));
}

TEST_F(FleetRunnerTest, TimedOutPrefillIsRetriedOnAnotherWorker) {
  StartRunner({.prefill_attempt_timeout = absl::Milliseconds(300)});
  prefill_[0]->HangPrefill();
  ASSERT_OK_AND_ASSIGN(DisaggResult result, runner_->Generate(Request(Prompt(1), 4), nullptr));
  EXPECT_THAT(result.tokens, ElementsAreArray(FakeGenerate(Prompt(1), 4)));
  EXPECT_EQ(prefill_[0]->prefill_calls(), 1);
  EXPECT_EQ(prefill_[1]->prefill_calls(), 1);
  EXPECT_THAT(Metrics(), HasSubstr("baton_router_prefill_retries_total 1"));
}

// A prompt that waits at the prefill worker for longer than D's lease (here until D has seen three
// renewals, a third of a lease apart) keeps its reservation: the runner renews the lease while
// its Prefill call is open, so the request completes instead of losing its blocks.
TEST_F(FleetRunnerTest, LeaseIsRenewedWhileThePrefillWaits) {
  for (auto& worker : decode_) worker->SetLease(absl::Milliseconds(300));
  StartRunner();
  bool renewed = false;
  WaitForRenewalsInPrefill(0, &renewed);
  ASSERT_OK_AND_ASSIGN(DisaggResult result, runner_->Generate(Request(Prompt(1), 4), nullptr));
  EXPECT_THAT(result.tokens, ElementsAreArray(FakeGenerate(Prompt(1), 4)));
  EXPECT_TRUE(renewed) << "no renewals while the prefill waited";
  EXPECT_EQ(prefill_[0]->prefill_calls(), 1);
  EXPECT_EQ(prefill_[1]->prefill_calls(), 0);
}

// A prefill attempt that fails after waiting longer than D's lease is still retried on another
// prefill worker with the same KvTarget (the fake decode worker only streams once the KV of its
// own transfer id arrived): renewals kept the lease, counted on the real clock here.
TEST_F(FleetRunnerTest, PrefillFailingAfterALongWaitIsRetriedWithTheRenewedLease) {
  for (auto& worker : decode_) worker->SetLease(absl::Milliseconds(300));
  StartRunner();  // the steady clock
  bool renewed = false;
  prefill_[0]->FailPrefill(grpc::StatusCode::UNAVAILABLE);
  WaitForRenewalsInPrefill(0, &renewed);
  ASSERT_OK_AND_ASSIGN(DisaggResult result, runner_->Generate(Request(Prompt(1), 4), nullptr));
  EXPECT_THAT(result.tokens, ElementsAreArray(FakeGenerate(Prompt(1), 4)));
  EXPECT_TRUE(renewed) << "no renewals while the prefill waited";
  EXPECT_EQ(prefill_[1]->prefill_calls(), 1);  // retried there, not prefilled on D
  EXPECT_THAT(Metrics(), HasSubstr("baton_router_prefill_retries_total 1"));
}

// The fake decode worker leases its blocks for 30 s; the runner counts that down on the fake
// clock, which the failing prefill worker moves forward before it fails.
TEST_F(FleetRunnerTest, FailedPrefillIsRetriedOnlyWhileTheLeaseLasts) {
  StartRunner({.clock = &clock_});
  prefill_[0]->FailPrefill(grpc::StatusCode::UNAVAILABLE);
  prefill_[0]->OnPrefill([this] { clock_.Advance(absl::Seconds(29)); });
  ASSERT_OK_AND_ASSIGN(DisaggResult retried, runner_->Generate(Request(Prompt(1), 4), nullptr));
  EXPECT_THAT(retried.tokens, ElementsAreArray(FakeGenerate(Prompt(1), 4)));
  EXPECT_EQ(prefill_[1]->prefill_calls(), 1);  // 29 s: still leased, retried there

  // Round robin: the next request's first attempt is prefill worker 1's turn.
  prefill_[1]->FailPrefill(grpc::StatusCode::UNAVAILABLE);
  for (auto& worker : prefill_) worker->OnPrefill([this] { clock_.Advance(absl::Seconds(31)); });
  ASSERT_OK_AND_ASSIGN(DisaggResult local, runner_->Generate(Request(Prompt(2), 4), nullptr));
  EXPECT_THAT(local.tokens, ElementsAreArray(FakeGenerate(Prompt(2), 4)));
  EXPECT_EQ(prefill_[1]->prefill_calls(), 2);
  EXPECT_EQ(prefill_[0]->prefill_calls(), 1);  // 31 s: the lease is over, no retry
  EXPECT_THAT(Metrics(), HasSubstr("baton_router_prefill_retries_total 1"));
  EXPECT_THAT(Metrics(),
              HasSubstr("baton_router_local_prefills_total{reason=\"prefill_failed\"} 1"));
}

TEST_F(FleetRunnerTest, WhenEveryPrefillFailsTheDecodeWorkerPrefills) {
  StartRunner();
  prefill_[0]->FailPrefill(grpc::StatusCode::RESOURCE_EXHAUSTED);
  prefill_[1]->FailPrefill(grpc::StatusCode::UNAVAILABLE);
  ASSERT_OK_AND_ASSIGN(DisaggResult result, runner_->Generate(Request(Prompt(1), 4), nullptr));
  EXPECT_THAT(result.tokens, ElementsAreArray(FakeGenerate(Prompt(1), 4)));
  // The same decode worker, asked a second time to prefill locally.
  std::vector<v1::DecodeRequest> asked = decode_[0]->decode_requests();
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_FALSE(asked[0].local_prefill());
  EXPECT_TRUE(asked[1].local_prefill());
  EXPECT_EQ(asked[0].sampling().seed(), asked[1].sampling().seed());
  EXPECT_THAT(Metrics(), HasSubstr("baton_router_local_prefills_total{reason=\"prefill_failed\"} 1"));
}

TEST_F(FleetRunnerTest, InvalidArgumentFromPrefillIsNotRetried) {
  StartRunner();
  prefill_[0]->FailPrefill(grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(runner_->Generate(Request(Prompt(1), 4), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(prefill_[1]->prefill_calls(), 0);
}

TEST_F(FleetRunnerTest, RefusingDecodeWorkerIsReplacedBeforeStreaming) {
  StartRunner();
  decode_[0]->FailDecode(grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_OK_AND_ASSIGN(DisaggResult result, runner_->Generate(Request(Prompt(2), 4), nullptr));
  EXPECT_THAT(result.tokens, ElementsAreArray(FakeGenerate(Prompt(2), 4)));
  EXPECT_EQ(decode_[0]->decode_calls(), 1);
  EXPECT_EQ(decode_[1]->decode_calls(), 1);
  EXPECT_THAT(Metrics(), HasSubstr("baton_router_decode_retries_total 1"));
  EXPECT_THAT(Metrics(), HasSubstr("baton_router_migrations_total 0"));
}

TEST_F(FleetRunnerTest, StreamMigratesWhenItsDecodeWorkerDies) {
  StartRunner();
  decode_[0]->DieAfterTokens(3);
  std::vector<int32_t> seen;
  ASSERT_OK_AND_ASSIGN(DisaggResult result,
                       runner_->Generate(Request(Prompt(3), 10),
                                         [&](const v1::DecodedTokens& tokens) {
                                           seen.insert(seen.end(), tokens.token_ids().begin(),
                                                       tokens.token_ids().end());
                                           return true;
                                         }));
  const std::vector<int32_t> expected = FakeGenerate(Prompt(3), 10);
  EXPECT_THAT(seen, ElementsAreArray(expected));  // one unbroken stream
  EXPECT_THAT(result.tokens, ElementsAreArray(expected));
  EXPECT_EQ(result.finished.completion_tokens(), 10);
  EXPECT_EQ(result.finished.prompt_tokens(), 20);
  // The second decode worker got the prompt plus the three tokens, with seven left to make.
  std::vector<v1::DecodeRequest> moved = decode_[1]->decode_requests();
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].prompt_token_ids_size(), 23);
  EXPECT_EQ(moved[0].sampling().max_tokens(), 7);
  EXPECT_EQ(moved[0].sampling().seed(), decode_[0]->decode_requests()[0].sampling().seed());
  EXPECT_THAT(Metrics(), HasSubstr("baton_router_migrations_total 1"));
}

TEST_F(FleetRunnerTest, MigrationsAreBounded) {
  FleetOptions options;
  options.max_migrations = 1;
  StartRunner(options);
  decode_[0]->DieAfterTokens(2);
  decode_[1]->DieAfterTokens(2);
  EXPECT_THAT(runner_->Generate(Request(Prompt(4), 10), nullptr),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("after 1 migrations")));
}

TEST_F(FleetRunnerTest, MigrationOffFailsTheStream) {
  FleetOptions options;
  options.max_migrations = 0;
  StartRunner(options);
  decode_[0]->DieAfterTokens(2);
  EXPECT_THAT(runner_->Generate(Request(Prompt(4), 10), nullptr),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("mid-stream")));
  EXPECT_EQ(decode_[1]->decode_calls(), 0);
}

TEST_F(FleetRunnerTest, ShortUncachedPromptIsPrefilledOnDecode) {
  FleetOptions options;
  options.local_prefill_max_tokens = 25;
  StartRunner(options);
  ASSERT_OK_AND_ASSIGN(DisaggResult result, runner_->Generate(Request(Prompt(5), 4), nullptr));
  EXPECT_THAT(result.tokens, ElementsAreArray(FakeGenerate(Prompt(5), 4)));
  EXPECT_EQ(prefill_[0]->prefill_calls() + prefill_[1]->prefill_calls(), 0);
  EXPECT_EQ(decode_[0]->decode_requests()[0].local_prefill_max_tokens(), 25);
  EXPECT_THAT(Metrics(), HasSubstr("baton_router_local_prefills_total{reason=\"short_uncached\"} 1"));
  // A longer prompt goes to a prefill worker.
  ASSERT_OK_AND_ASSIGN(result, runner_->Generate(Request(Prompt(6, 40), 4), nullptr));
  EXPECT_THAT(result.tokens, ElementsAreArray(FakeGenerate(Prompt(6, 40), 4)));
  EXPECT_EQ(prefill_[0]->prefill_calls() + prefill_[1]->prefill_calls(), 1);
}

TEST_F(FleetRunnerTest, SaturatedOrAbsentPrefillPoolMeansLocalPrefill) {
  FleetOptions options;
  options.prefill_saturated_tokens = 1000;
  StartRunner(options);
  v1::WorkerLoad busy;
  busy.set_queued_prompt_tokens(5000);
  prefill_[0]->PublishLoad(busy);
  prefill_[1]->PublishLoad(busy);
  ASSERT_TRUE(pool_->WaitFor(
      [](const WorkerPool& p) {
        for (const WorkerView& w : p.Candidates(v1::WORKER_ROLE_PREFILL, {})) {
          if (w.load.queued_prompt_tokens() != 5000) return false;
        }
        return true;
      },
      absl::Seconds(20)));
  ASSERT_OK_AND_ASSIGN(DisaggResult result, runner_->Generate(Request(Prompt(7), 3), nullptr));
  EXPECT_THAT(result.tokens, ElementsAreArray(FakeGenerate(Prompt(7), 3)));
  EXPECT_THAT(Metrics(),
              HasSubstr("baton_router_local_prefills_total{reason=\"prefill_saturated\"} 1"));

  prefill_[0]->Stop();
  prefill_[1]->Stop();
  ASSERT_TRUE(pool_->WaitFor(
      [](const WorkerPool& p) { return p.Candidates(v1::WORKER_ROLE_PREFILL, {}).empty(); },
      absl::Seconds(20)));
  ASSERT_OK_AND_ASSIGN(result, runner_->Generate(Request(Prompt(8), 3), nullptr));
  EXPECT_THAT(result.tokens, ElementsAreArray(FakeGenerate(Prompt(8), 3)));
  EXPECT_THAT(Metrics(),
              HasSubstr("baton_router_local_prefills_total{reason=\"no_prefill_worker\"} 1"));
}

TEST_F(FleetRunnerTest, NoHealthyDecodeWorkerIsUnavailable) {
  StartRunner();
  decode_[0]->Stop();
  decode_[1]->Stop();
  ASSERT_TRUE(pool_->WaitFor(
      [](const WorkerPool& p) { return p.Candidates(v1::WORKER_ROLE_DECODE, {}).empty(); },
      absl::Seconds(20)));
  EXPECT_THAT(runner_->Generate(Request(Prompt(9), 3), nullptr),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no healthy decode worker")));
}

TEST_F(FleetRunnerTest, CallerStopEndsTheRequest) {
  StartRunner();
  EXPECT_THAT(runner_->Generate(Request(Prompt(9), 8),
                                [](const v1::DecodedTokens&) { return false; }),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(decode_[1]->decode_calls(), 0);
}

}  // namespace
}  // namespace baton::router
