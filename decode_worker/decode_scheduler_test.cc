#include "decode_worker/decode_scheduler.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "engine/model/random_model.h"
#include "engine/runtime/generate.h"
#include "gtest/gtest.h"
#include "kvtransfer/inprocess/inprocess_kv_transport.h"
#include "serving/kv_target_proto.h"
#include "serving/testing/fake_monotonic_clock.h"

namespace baton::decode_worker {
namespace {

namespace v1 = ::baton::internal::v1;

struct Outcome {
  absl::Status status;
  bool got_target = false;
  bool got_local_prefill = false;
  int32_t cached_prompt_tokens = -1;  // DecodeFinished's
  std::vector<int32_t> tokens;
  baton::v1::FinishReason reason = baton::v1::FINISH_REASON_UNSPECIFIED;
};

// Reads events until the stream ends.
Outcome Collect(DecodeEventQueue& events) {
  Outcome out;
  while (true) {
    std::optional<DecodeEvent> event = events.PopWithTimeout(absl::Seconds(60));
    if (!event.has_value()) {
      out.status = absl::DeadlineExceededError("no event within 60 s");
      return out;
    }
    if (!event->status.ok()) {
      out.status = event->status;
      return out;
    }
    if (event->response.has_kv_target()) out.got_target = true;
    if (event->response.has_local_prefill()) out.got_local_prefill = true;
    for (int32_t t : event->response.tokens().token_ids()) out.tokens.push_back(t);
    if (event->last) {
      out.reason = event->response.finished().finish_reason();
      out.cached_prompt_tokens = event->response.finished().cached_prompt_tokens();
      return out;
    }
  }
}

class DecodeSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/tiny.gguf";
    engine::RandomModelSpec spec;
    spec.seed = 11;
    spec.weight_std = 0.08f;  // varied tokens rather than one repeated argmax
    ASSERT_OK(engine::WriteRandomModel(spec, path));
    ASSERT_OK_AND_ASSIGN(model_, engine::Model::Load(path));
    ASSERT_OK_AND_ASSIGN(engine_, engine::Engine::Create(model_, {.num_threads = 1}));
    ASSERT_OK_AND_ASSIGN(reference_engine_, engine::Engine::Create(model_, {.num_threads = 1}));
    ASSERT_OK_AND_ASSIGN(transport_, kvtransfer::InProcessKvTransport::Create());
    registry_ = std::make_shared<prometheus::Registry>();
    metrics_ = DecodeMetrics::Create(*registry_);
  }

  void StartScheduler(int32_t num_blocks, DecodeSchedulerOptions options = {}) {
    ASSERT_OK_AND_ASSIGN(pool_, engine_->CreateKvPool(engine::KvDType::kF32, 16, num_blocks));
    ASSERT_OK_AND_ASSIGN(
        receiver_, transport_->CreateReceiver(pool_->base(), pool_->num_blocks(), pool_->layout()));
    ASSERT_OK_AND_ASSIGN(scheduler_,
                         DecodeScheduler::Create(engine_.get(), pool_.get(), receiver_.get(),
                                                 metrics_.get(), options));
  }

  void TearDown() override {
    scheduler_.reset();
    receiver_.reset();
  }

  static std::vector<int32_t> Prompt(int32_t length, int32_t seed) {
    std::vector<int32_t> prompt;
    for (int32_t i = 0; i < length; ++i) prompt.push_back(3 + (seed * 31 + i * 17) % 500);
    return prompt;
  }

  std::shared_ptr<DecodeEventQueue> Submit(const std::vector<int32_t>& prompt, int32_t max_tokens,
                                           bool local = true,
                                           absl::Duration lease = absl::ZeroDuration(),
                                           uint64_t* id = nullptr) {
    DecodeJob job;
    job.request_id = "r";
    job.prompt = prompt;
    job.sampling.params.temperature = 0.0f;
    job.sampling.max_tokens = max_tokens;
    job.sampling.ignore_eos = true;
    job.local_prefill = local;
    job.local_prefill_max_tokens = local_prefill_max_tokens_;
    job.lease = lease;
    job.events = std::make_shared<DecodeEventQueue>();
    auto events = job.events;
    const uint64_t assigned = scheduler_->Submit(std::move(job));
    if (id != nullptr) *id = assigned;
    return events;
  }

  // A colocated greedy request that, unlike Submit's, stops at end-of-generation tokens.
  std::shared_ptr<DecodeEventQueue> SubmitStoppingAtEog(const std::vector<int32_t>& prompt,
                                                        int32_t max_tokens) {
    DecodeJob job;
    job.request_id = "eog";
    job.prompt = prompt;
    job.sampling.params.temperature = 0.0f;
    job.sampling.max_tokens = max_tokens;
    job.local_prefill = true;
    job.events = std::make_shared<DecodeEventQueue>();
    auto events = job.events;
    scheduler_->Submit(std::move(job));
    return events;
  }

  std::vector<int32_t> Reference(const std::vector<int32_t>& prompt, int32_t max_tokens) {
    engine::GenerateOptions options;
    options.max_tokens = max_tokens;
    options.sampling.temperature = 0.0f;
    options.kv_dtype = engine::KvDType::kF32;
    absl::StatusOr<engine::GenerateResult> result =
        engine::Generate(*reference_engine_, prompt, options);
    EXPECT_OK(result.status());
    return result.ok() ? result->tokens : std::vector<int32_t>{};
  }

  // DecodeScheduler::RenewLease, waited for.
  absl::StatusOr<LeaseRenewal> Renew(uint64_t id) {
    auto answer = std::make_shared<serving::EventQueue<absl::StatusOr<LeaseRenewal>>>();
    scheduler_->RenewLease(
        id, [answer](absl::StatusOr<LeaseRenewal> renewal) { answer->Push(std::move(renewal)); });
    std::optional<absl::StatusOr<LeaseRenewal>> renewal = answer->PopWithTimeout(absl::Seconds(60));
    if (!renewal.has_value()) return absl::DeadlineExceededError("no answer within 60 s");
    return *std::move(renewal);
  }

  void WaitUntilAllFree() {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      DecodeLoad load = scheduler_->Load();
      if (load.free_blocks == load.total_blocks && load.running == 0 && load.waiting == 0) return;
      absl::SleepFor(absl::Milliseconds(5));
    }
    ADD_FAILURE() << "blocks not all free: " << scheduler_->Load().free_blocks << " of "
                  << scheduler_->Load().total_blocks;
  }

  serving::testing::FakeMonotonicClock clock_;  // outlives the scheduler
  std::shared_ptr<const engine::Model> model_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<engine::Engine> reference_engine_;
  std::unique_ptr<kvtransfer::KvTransport> transport_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<DecodeMetrics> metrics_;
  std::unique_ptr<engine::KvPool> pool_;
  std::unique_ptr<kvtransfer::KvReceiver> receiver_;
  std::unique_ptr<DecodeScheduler> scheduler_;
  int32_t local_prefill_max_tokens_ = 0;  // for Submit's jobs
};

TEST_F(DecodeSchedulerTest, LocalPrefillMatchesSingleSequenceGeneration) {
  StartScheduler(64, {.prefill_chunk_tokens = 16});
  for (int32_t length : {1, 5, 16, 41}) {
    const std::vector<int32_t> prompt = Prompt(length, length);
    auto events = Submit(prompt, 20);
    Outcome out = Collect(*events);
    ASSERT_OK(out.status);
    EXPECT_EQ(out.reason, baton::v1::FINISH_REASON_LENGTH);
    EXPECT_EQ(out.tokens, Reference(prompt, 20)) << "prompt length " << length;
  }
  WaitUntilAllFree();
}

TEST_F(DecodeSchedulerTest, AnyEndOfGenerationIdEndsTheSequenceWithStop) {
  const std::vector<int32_t> prompt = Prompt(9, 4);
  const std::vector<int32_t> expected = Reference(prompt, 30);
  // A token the greedy run first produces mid-sequence stands in for <|eot_id|> / <|im_end|>.
  size_t end = 3;
  while (end < expected.size() && std::find(expected.begin(), expected.begin() + end,
                                            expected[end]) != expected.begin() + end) {
    ++end;
  }
  ASSERT_LT(end, expected.size()) << "the reference run repeats itself from token 3 on";
  // EOS (2) is in the set too but is not what ends this sequence.
  ASSERT_EQ(std::count(expected.begin(), expected.begin() + end + 1, 2), 0);
  StartScheduler(64, {.end_of_generation_ids = {2, expected[end]}});
  Outcome out = Collect(*SubmitStoppingAtEog(prompt, 30));
  ASSERT_OK(out.status);
  EXPECT_EQ(out.reason, baton::v1::FINISH_REASON_STOP);
  EXPECT_EQ(out.tokens, std::vector<int32_t>(expected.begin(), expected.begin() + end + 1));
  // ignore_eos keeps going past every id of the set.
  Outcome ignored = Collect(*Submit(prompt, 30));
  ASSERT_OK(ignored.status);
  EXPECT_EQ(ignored.reason, baton::v1::FINISH_REASON_LENGTH);
  EXPECT_EQ(ignored.tokens, expected);
  WaitUntilAllFree();
}

TEST_F(DecodeSchedulerTest, FirstTokenOfTheSetEndsAtOnce) {
  const std::vector<int32_t> prompt = Prompt(12, 6);
  const int32_t first = Reference(prompt, 1).at(0);
  StartScheduler(64, {.end_of_generation_ids = {first}});
  Outcome out = Collect(*SubmitStoppingAtEog(prompt, 30));
  ASSERT_OK(out.status);
  EXPECT_EQ(out.reason, baton::v1::FINISH_REASON_STOP);
  EXPECT_EQ(out.tokens, std::vector<int32_t>{first});
  WaitUntilAllFree();
}

TEST_F(DecodeSchedulerTest, ConcurrentSequencesBatchTogetherAndMatch) {
  StartScheduler(256, {.max_batch_size = 8, .prefill_chunk_tokens = 32});
  std::vector<std::vector<int32_t>> prompts;
  std::vector<int32_t> lengths;
  std::vector<std::shared_ptr<DecodeEventQueue>> streams;
  for (int32_t i = 0; i < 12; ++i) {
    prompts.push_back(Prompt(1 + (i * 7) % 37, i));
    lengths.push_back(5 + (i * 11) % 30);
    streams.push_back(Submit(prompts.back(), lengths.back()));
  }
  for (int32_t i = 0; i < 12; ++i) {
    Outcome out = Collect(*streams[i]);
    ASSERT_OK(out.status);
    EXPECT_EQ(out.tokens, Reference(prompts[i], lengths[i])) << "request " << i;
  }
  EXPECT_GT(metrics_->max_batch_size->Value(), 1.0);
  EXPECT_LE(metrics_->max_batch_size->Value(), 8.0);
  WaitUntilAllFree();
}

TEST_F(DecodeSchedulerTest, PreemptsWhenThePoolRunsOutAndStillMatches) {
  // 4 sequences of up to 10 + 50 tokens need 4 blocks each; 10 blocks force preemption.
  StartScheduler(10, {.max_batch_size = 4, .prefill_chunk_tokens = 64});
  std::vector<std::shared_ptr<DecodeEventQueue>> streams;
  std::vector<std::vector<int32_t>> prompts;
  for (int32_t i = 0; i < 4; ++i) {
    prompts.push_back(Prompt(10, 100 + i));
    streams.push_back(Submit(prompts.back(), 50));
  }
  for (int32_t i = 0; i < 4; ++i) {
    Outcome out = Collect(*streams[i]);
    ASSERT_OK(out.status);
    EXPECT_EQ(out.tokens, Reference(prompts[i], 50)) << "request " << i;
  }
  EXPECT_GT(metrics_->preemptions->Value(), 0.0);
  WaitUntilAllFree();
}

TEST_F(DecodeSchedulerTest, SequenceThatCannotFitAloneEndsWithResourceExhausted) {
  StartScheduler(2);  // 32 positions
  auto events = Submit(Prompt(20, 1), 100);
  Outcome out = Collect(*events);
  EXPECT_THAT(out.status, ::baton::testing::StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(out.tokens.size(), 13u);  // positions 20..31 computed, the 13th token has no room
  WaitUntilAllFree();
}

TEST_F(DecodeSchedulerTest, PromptLargerThanPoolOrNoFreeBlocksIsResourceExhausted) {
  StartScheduler(4);
  Outcome too_big = Collect(*Submit(Prompt(100, 1), 5));
  EXPECT_THAT(too_big.status, ::baton::testing::StatusIs(absl::StatusCode::kResourceExhausted));
  // A remote reservation of all 4 blocks, then a second request finds none free.
  auto holder = Submit(Prompt(60, 2), 5, /*local=*/false, absl::Seconds(30));
  auto second = Submit(Prompt(3, 3), 5);
  Outcome out = Collect(*second);
  EXPECT_THAT(out.status, ::baton::testing::StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_GT(metrics_->rejected_no_blocks->Value(), 1.0);
}

TEST_F(DecodeSchedulerTest, ExpiredLeaseFailsWithUnavailableAndFreesBlocks) {
  StartScheduler(16, {.clock = &clock_});
  // A lease of 30 s on the scheduler's clock, which only the test moves.
  auto events = Submit(Prompt(30, 1), 5, /*local=*/false, absl::Seconds(30));
  std::optional<DecodeEvent> first = events->PopWithTimeout(absl::Seconds(10));
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->response.has_kv_target());
  EXPECT_EQ(first->response.kv_target().block_ids_size(), 2);
  // The load snapshot is published right after the command is handled.
  const absl::Time until = absl::Now() + absl::Seconds(5);
  while (scheduler_->Load().pending_transfers != 1 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(scheduler_->Load().pending_transfers, 1);
  clock_.Advance(absl::Seconds(29));
  EXPECT_FALSE(events->PopWithTimeout(absl::Milliseconds(100)).has_value());  // still leased
  const auto advanced = std::chrono::steady_clock::now();
  clock_.Advance(absl::Seconds(2));
  Outcome out = Collect(*events);
  EXPECT_THAT(out.status, ::baton::testing::StatusIs(absl::StatusCode::kUnavailable));
  // Ended by the fake clock, not by 30 real seconds.
  EXPECT_LT(std::chrono::steady_clock::now() - advanced, std::chrono::seconds(10));
  WaitUntilAllFree();
  EXPECT_EQ(scheduler_->Load().pending_transfers, 0);
}

// A prompt whose prefill waits (say, in a busy prefill worker's queue) far longer than one lease
// keeps its blocks while the lease is renewed, and is admitted when its KV finally arrives.
TEST_F(DecodeSchedulerTest, RenewedLeaseOutlivesTheLeaseAndTheRequestCompletes) {
  StartScheduler(64, {.clock = &clock_});
  // Two full blocks cached, so a remote prompt of exactly those needs only the completion.
  const std::vector<int32_t> cached = Prompt(40, 1);
  ASSERT_OK(Collect(*Submit(cached, 5)).status);
  const std::vector<int32_t> prompt(cached.begin(), cached.begin() + 32);
  uint64_t id = 0;
  auto events = Submit(prompt, 5, /*local=*/false, absl::Seconds(30), &id);
  std::optional<DecodeEvent> first = events->PopWithTimeout(absl::Seconds(10));
  ASSERT_TRUE(first.has_value() && first->response.has_kv_target());

  // Five times 20 s on the scheduler's clock (100 s against a 30 s lease), renewed in between.
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(20));
    ASSERT_OK_AND_ASSIGN(LeaseRenewal renewal, Renew(id));
    EXPECT_EQ(renewal.lease, absl::Seconds(30));
    EXPECT_GT(renewal.deadline, absl::Now());
  }
  EXPECT_FALSE(events->PopWithTimeout(absl::Milliseconds(100)).has_value());  // still leased
  EXPECT_EQ(metrics_->lease_renewals->Value(), 5.0);

  // The KV arrives (here only the completion: every block was cached).
  ASSERT_OK_AND_ASSIGN(serving::WireKvTarget wire,
                       serving::WireKvTargetFromProto(first->response.kv_target()));
  kvtransfer::KvSource source;
  source.pool_base = pool_->base();
  source.pool_num_blocks = pool_->num_blocks();
  source.layout = pool_->layout();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<kvtransfer::KvWriteStream> stream,
                       transport_->StartWrite(serving::BlocksToWrite(wire), std::move(source),
                                              absl::InfiniteFuture()));
  for (int32_t layer = 0; layer < pool_->layout().num_layers; ++layer) {
    stream->WriteLayer(layer, [](absl::Status status) { EXPECT_OK(status); });
  }
  const int32_t first_token = 7;
  stream->Finish({.first_token = first_token}, [](absl::Status status) { EXPECT_OK(status); });
  Outcome out = Collect(*events);
  ASSERT_OK(out.status);
  EXPECT_EQ(out.reason, baton::v1::FINISH_REASON_LENGTH);
  ASSERT_EQ(out.tokens.size(), 5u);
  EXPECT_EQ(out.tokens[0], first_token);
  // Over: nothing left to renew.
  EXPECT_THAT(Renew(id).status(), ::baton::testing::StatusIs(absl::StatusCode::kNotFound));
  WaitUntilAllFree();
}

// Renewals only postpone the end: once they stop (router or prefill worker gone), the lease runs
// out one lease after the last renewal and the blocks go back to the pool.
TEST_F(DecodeSchedulerTest, LeaseEndsOneLeaseAfterTheLastRenewal) {
  StartScheduler(16, {.clock = &clock_});
  uint64_t id = 0;
  auto events = Submit(Prompt(30, 1), 5, /*local=*/false, absl::Seconds(30), &id);
  std::optional<DecodeEvent> first = events->PopWithTimeout(absl::Seconds(10));
  ASSERT_TRUE(first.has_value() && first->response.has_kv_target());
  clock_.Advance(absl::Seconds(25));
  ASSERT_OK(Renew(id).status());
  clock_.Advance(absl::Seconds(29));  // 54 s since the reservation, 29 s since the renewal
  EXPECT_FALSE(events->PopWithTimeout(absl::Milliseconds(100)).has_value());  // still leased
  clock_.Advance(absl::Seconds(2));
  Outcome out = Collect(*events);
  EXPECT_THAT(out.status, ::baton::testing::StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Renew(id).status(), ::baton::testing::StatusIs(absl::StatusCode::kNotFound));
  WaitUntilAllFree();
  EXPECT_EQ(scheduler_->Load().pending_transfers, 0);
  // An unknown id has no lease to renew.
  EXPECT_THAT(Renew(id + 1000).status(), ::baton::testing::StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DecodeSchedulerTest, CancelFreesEveryBlock) {
  StartScheduler(64);
  uint64_t id = 0;
  auto events = Submit(Prompt(10, 1), 400, /*local=*/true, absl::ZeroDuration(), &id);
  // Wait for a few tokens, then cancel mid-stream.
  int tokens = 0;
  while (tokens < 3) {
    std::optional<DecodeEvent> event = events->PopWithTimeout(absl::Seconds(10));
    ASSERT_TRUE(event.has_value());
    ASSERT_FALSE(event->last);
    tokens += event->response.tokens().token_ids_size();
  }
  scheduler_->Cancel(id);
  Outcome out = Collect(*events);
  ASSERT_OK(out.status);
  EXPECT_EQ(out.reason, baton::v1::FINISH_REASON_CANCELLED);
  // A cancelled remote reservation is freed once the receiver confirms the abort.
  auto remote = Submit(Prompt(10, 2), 5, /*local=*/false, absl::Seconds(30), &id);
  std::optional<DecodeEvent> target = remote->PopWithTimeout(absl::Seconds(10));
  ASSERT_TRUE(target.has_value() && target->response.has_kv_target());
  scheduler_->Cancel(id);
  Outcome cancelled = Collect(*remote);
  EXPECT_EQ(cancelled.reason, baton::v1::FINISH_REASON_CANCELLED);
  WaitUntilAllFree();
  EXPECT_EQ(metrics_->cancelled->Value(), 2.0);
}

TEST_F(DecodeSchedulerTest, ShutdownRejectsNewWorkAndCancelsTheRest) {
  StartScheduler(64);
  auto running = Submit(Prompt(4, 1), 400);
  scheduler_->Shutdown(absl::Milliseconds(50));
  Outcome out = Collect(*running);
  EXPECT_TRUE(out.reason == baton::v1::FINISH_REASON_CANCELLED ||
              out.reason == baton::v1::FINISH_REASON_LENGTH);
  Outcome late = Collect(*Submit(Prompt(4, 2), 4));
  EXPECT_THAT(late.status, ::baton::testing::StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(DecodeSchedulerTest, ShutdownAbortsPendingTransfersAndReturns) {
  StartScheduler(64);
  auto remote = Submit(Prompt(20, 3), 4, /*local=*/false, absl::Seconds(30));
  std::optional<DecodeEvent> target = remote->PopWithTimeout(absl::Seconds(10));
  ASSERT_TRUE(target.has_value() && target->response.has_kv_target());
  const absl::Time started = absl::Now();
  scheduler_->Shutdown(absl::Milliseconds(50));  // returns once the receiver confirmed the abort
  EXPECT_LT(absl::Now() - started, absl::Seconds(5));
  Outcome out = Collect(*remote);
  EXPECT_EQ(out.reason, baton::v1::FINISH_REASON_CANCELLED);
  EXPECT_EQ(pool_->num_free(), pool_->num_blocks());
}


// Prompts of 40 tokens (block size 16) whose first two blocks are `shared`'s.
std::vector<int32_t> WithSharedPrefix(const std::vector<int32_t>& shared, int32_t seed) {
  std::vector<int32_t> prompt(shared.begin(), shared.begin() + 32);
  for (int32_t i = 0; i < 8; ++i) prompt.push_back(3 + (seed * 13 + i * 29) % 500);
  return prompt;
}

TEST_F(DecodeSchedulerTest, LocalPrefillReusesCachedBlocksAndStillMatches) {
  StartScheduler(64, {.prefill_chunk_tokens = 16});
  const std::vector<int32_t> first = Prompt(40, 1);
  Outcome a = Collect(*Submit(first, 20));
  ASSERT_OK(a.status);
  EXPECT_TRUE(a.got_local_prefill);
  EXPECT_EQ(a.cached_prompt_tokens, 0);
  // Prompt and generated tokens: 59 positions with KV, 3 full blocks, stay cached after the end.
  EXPECT_EQ(pool_->num_cached(), 3);
  const std::vector<int32_t> second = WithSharedPrefix(first, 2);
  Outcome b = Collect(*Submit(second, 20));
  ASSERT_OK(b.status);
  EXPECT_EQ(b.cached_prompt_tokens, 32);
  EXPECT_EQ(b.tokens, Reference(second, 20));
  // A prompt that is exactly cached blocks still computes its last block (for the logits).
  const std::vector<int32_t> exact(first.begin(), first.begin() + 32);
  Outcome c = Collect(*Submit(exact, 5));
  ASSERT_OK(c.status);
  EXPECT_EQ(c.cached_prompt_tokens, 16);
  EXPECT_EQ(c.tokens, Reference(exact, 5));
  EXPECT_EQ(metrics_->prefix_cache->hit_tokens(), 48.0);
  WaitUntilAllFree();
}

TEST_F(DecodeSchedulerTest, PrefixCachingOffReusesNothing) {
  StartScheduler(64, {.prefix_caching = false});
  const std::vector<int32_t> first = Prompt(40, 1);
  ASSERT_OK(Collect(*Submit(first, 5)).status);
  Outcome b = Collect(*Submit(WithSharedPrefix(first, 2), 5));
  ASSERT_OK(b.status);
  EXPECT_EQ(b.cached_prompt_tokens, 0);
  EXPECT_EQ(pool_->num_cached(), 0);
  WaitUntilAllFree();
}

TEST_F(DecodeSchedulerTest, RemoteTargetListsCachedBlocksFirstAndExpectsOnlyTheRest) {
  StartScheduler(64);
  const std::vector<int32_t> first = Prompt(40, 1);
  ASSERT_OK(Collect(*Submit(first, 5)).status);
  const int32_t cached_before = pool_->num_cached();
  uint64_t id = 0;
  auto remote = Submit(WithSharedPrefix(first, 3), 5, /*local=*/false, absl::Seconds(30), &id);
  std::optional<DecodeEvent> event = remote->PopWithTimeout(absl::Seconds(10));
  ASSERT_TRUE(event.has_value() && event->response.has_kv_target());
  const v1::KvTarget& target = event->response.kv_target();
  EXPECT_EQ(target.block_ids_size(), 3);
  EXPECT_EQ(target.cached_prefix_blocks(), 2);
  // The cached blocks are referenced (not evictable) while the request holds them, and the block
  // the transfer may still write into is not cacheable.
  EXPECT_EQ(pool_->num_evictable(), pool_->num_cached() - 2);
  EXPECT_EQ(pool_->num_cached(), cached_before);
  // A prompt made only of cached blocks expects no block at all: only the completion travels.
  auto whole = Submit(std::vector<int32_t>(first.begin(), first.begin() + 32), 5,
                      /*local=*/false, absl::Seconds(30));
  std::optional<DecodeEvent> whole_event = whole->PopWithTimeout(absl::Seconds(10));
  ASSERT_TRUE(whole_event.has_value() && whole_event->response.has_kv_target());
  EXPECT_EQ(whole_event->response.kv_target().cached_prefix_blocks(), 2);
  EXPECT_EQ(whole_event->response.kv_target().block_ids_size(), 2);
  scheduler_->Cancel(id);
  EXPECT_EQ(Collect(*remote).reason, baton::v1::FINISH_REASON_CANCELLED);
  scheduler_->Shutdown(absl::ZeroDuration());
  EXPECT_EQ(pool_->num_cached(), cached_before);  // aborted transfers leave nothing cached
  EXPECT_EQ(Collect(*whole).reason, baton::v1::FINISH_REASON_CANCELLED);
  EXPECT_EQ(pool_->num_free(), pool_->num_blocks());
}

TEST_F(DecodeSchedulerTest, ShortUncachedSuffixIsPrefilledLocallyWithoutATransfer) {
  StartScheduler(64);
  const std::vector<int32_t> first = Prompt(40, 1);
  ASSERT_OK(Collect(*Submit(first, 5)).status);
  local_prefill_max_tokens_ = 8;
  // 32 of 40 tokens cached: 8 left, within the threshold.
  const std::vector<int32_t> second = WithSharedPrefix(first, 4);
  Outcome local = Collect(*Submit(second, 10, /*local=*/false));
  ASSERT_OK(local.status);
  EXPECT_TRUE(local.got_local_prefill);
  EXPECT_FALSE(local.got_target);
  EXPECT_EQ(local.cached_prompt_tokens, 32);
  EXPECT_EQ(local.tokens, Reference(second, 10));
  // An unrelated prompt of 40 uncached tokens goes to a prefill worker.
  uint64_t id = 0;
  auto remote = Submit(Prompt(40, 9), 5, /*local=*/false, absl::Seconds(30), &id);
  std::optional<DecodeEvent> event = remote->PopWithTimeout(absl::Seconds(10));
  ASSERT_TRUE(event.has_value());
  EXPECT_TRUE(event->response.has_kv_target());
  scheduler_->Cancel(id);
  Collect(*remote);
  WaitUntilAllFree();
}

}  // namespace
}  // namespace baton::decode_worker
