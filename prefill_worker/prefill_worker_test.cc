// Both workers in one process (in-process KV transport), driven over gRPC on loopback by the
// router's DisaggClient, against single-sequence engine::Generate.
#include "prefill_worker/prefill_worker.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status_matchers.h"
#include "absl/algorithm/container.h"
#include "absl/types/span.h"
#include "common/testing/http_client.h"
#include "decode_worker/decode_worker.h"
#include "engine/kv_cache/prefix_hash.h"
#include "engine/model/random_model.h"
#include "engine/runtime/generate.h"
#include "gtest/gtest.h"
#include "proto/baton/internal/v1/decode.grpc.pb.h"
#include "proto/baton/internal/v1/prefill.grpc.pb.h"
#include "proto/baton/internal/v1/worker.grpc.pb.h"
#include "router/disagg_client.h"
#include "serving/testing/fake_monotonic_clock.h"

namespace baton::prefill_worker {
namespace {

using ::baton::testing::StatusIs;
namespace v1 = ::baton::internal::v1;

class PrefillWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_path_ = std::string(std::getenv("TEST_TMPDIR")) + "/tiny.gguf";
    ASSERT_OK(engine::WriteRandomModel(Spec(), model_path_));
  }

  static engine::RandomModelSpec Spec() {
    engine::RandomModelSpec spec;
    spec.seed = 5;
    spec.weight_std = 0.08f;
    return spec;
  }

  void StartWorkers(int32_t decode_blocks = 256, absl::Duration layer_delay = {},
                    engine::KvDType decode_dtype = engine::KvDType::kF32) {
    decode_worker::DecodeWorkerOptions d;
    d.engine = {.model_path = model_path_, .kv_blocks = decode_blocks, .kv_dtype = decode_dtype};
    d.scheduler.kv_checksum = true;
    d.transport = transport_;
    d.scheduler.max_batch_size = 8;
    d.scheduler.prefix_caching = prefix_caching_;
    d.scheduler.clock = &decode_clock_;
    d.shutdown_grace = absl::Seconds(2);
    ASSERT_OK_AND_ASSIGN(decode_, decode_worker::DecodeWorker::Create(d));
    PrefillWorkerOptions p;
    p.engine = {.model_path = model_path_, .kv_blocks = 64};
    p.transport = transport_;
    p.scheduler.max_batch_tokens = 32;  // long prompts go in chunks
    p.scheduler.testing_layer_delay = layer_delay;
    p.scheduler.prefix_caching = prefix_caching_;
    p.shutdown_grace = absl::Seconds(2);
    ASSERT_OK_AND_ASSIGN(prefill_, PrefillWorker::Create(p));
    client_ = std::make_unique<router::DisaggClient>(Channel(decode_->grpc_port()),
                                                     Channel(prefill_->grpc_port()));
  }

  static std::shared_ptr<grpc::Channel> Channel(int port) {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                               grpc::InsecureChannelCredentials());
  }

  static std::vector<int32_t> Prompt(int32_t length, int32_t seed) {
    std::vector<int32_t> prompt;
    for (int32_t i = 0; i < length; ++i) prompt.push_back(3 + (seed * 37 + i * 13) % 500);
    return prompt;
  }

  static router::DisaggRequest Request(std::vector<int32_t> prompt, int32_t max_tokens,
                                       bool local = false) {
    router::DisaggRequest request;
    request.request_id = "test";
    request.prompt = std::move(prompt);
    request.sampling.set_temperature(0.0f);
    request.sampling.set_max_tokens(max_tokens);
    request.sampling.set_ignore_eos(true);
    request.local_prefill = local;
    request.timeout = absl::Seconds(60);
    return request;
  }

  // Single-sequence engine::Generate of the prompt, greedy unless `sampling` says otherwise.
  std::vector<int32_t> Reference(const std::vector<int32_t>& prompt, int32_t max_tokens,
                                 engine::SamplingParams sampling = {.temperature = 0.0f}) {
    if (reference_ == nullptr) {
      auto model = engine::Model::Load(model_path_);
      EXPECT_OK(model.status());
      reference_ = *engine::Engine::Create(*model, {.num_threads = 1});
    }
    engine::GenerateOptions options;
    options.max_tokens = max_tokens;
    options.sampling = sampling;
    options.kv_dtype = engine::KvDType::kF32;
    auto result = engine::Generate(*reference_, prompt, options);
    EXPECT_OK(result.status());
    return result.ok() ? result->tokens : std::vector<int32_t>{};
  }

  void ExpectDecodeIdle() {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    v1::WorkerLoad load;
    while (absl::Now() < deadline) {
      load = decode_->Load();
      if (load.free_kv_blocks() == load.total_kv_blocks() && load.running_sequences() == 0 &&
          load.waiting_sequences() == 0 && load.pending_transfers() == 0) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    ADD_FAILURE() << "decode worker not idle: " << load.DebugString();
  }

  // Opens a Decode stream for `request` (a remote reservation on the decode worker) and reads its
  // first message, the KvTarget, into *target. nullptr, with a failure recorded, when the stream
  // does not start with one.
  static std::unique_ptr<grpc::ClientReader<v1::DecodeResponse>> Reserve(
      v1::DecodeService::Stub& decode, const v1::DecodeRequest& request,
      grpc::ClientContext* context, v1::KvTarget* target) {
    std::unique_ptr<grpc::ClientReader<v1::DecodeResponse>> stream =
        decode.Decode(context, request);
    v1::DecodeResponse first;
    if (!stream->Read(&first) || !first.has_kv_target()) {
      ADD_FAILURE() << "the Decode stream did not start with a KvTarget";
      return nullptr;
    }
    *target = first.kv_target();
    return stream;
  }

  // Both pools back to all blocks free or cached-evictable.
  void ExpectPoolsIdle() {
    ExpectDecodeIdle();
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    v1::WorkerLoad load = prefill_->Load();
    while (load.free_kv_blocks() != load.total_kv_blocks() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
      load = prefill_->Load();
    }
    EXPECT_EQ(load.free_kv_blocks(), load.total_kv_blocks()) << load.DebugString();
  }

  // Runs prompts that share a 48-token prefix (three blocks) one after the other, checks each
  // against single-sequence generation and returns the results.
  std::vector<router::DisaggResult> RunSharedPrefixPrompts() {
    const std::vector<int32_t> shared = Prompt(48, 77);
    std::vector<router::DisaggResult> results;
    // Suffixes of 5, 16 and 21 tokens, the shared part alone (every block cached on D: only the
    // completion travels) and a shorter cut of it (a partial block).
    for (int32_t suffix : {5, 16, 0, 21, -10}) {
      std::vector<int32_t> prompt(shared.begin(), shared.end() + std::min(suffix, 0));
      for (int32_t i = 0; i < suffix; ++i) prompt.push_back(3 + (suffix * 7 + i * 11) % 500);
      absl::StatusOr<router::DisaggResult> result = client_->Generate(Request(prompt, 12));
      EXPECT_OK(result.status());
      if (!result.ok()) return results;
      EXPECT_EQ(result->tokens, Reference(prompt, 12)) << "suffix " << suffix;
      results.push_back(*std::move(result));
    }
    return results;
  }

  bool prefix_caching_ = true;
  // The decode worker's lease clock: leases end only when a test moves it.
  serving::testing::FakeMonotonicClock decode_clock_;

  // Tests that move the KV over UCX (tcp on lo, both workers in this process) set it so
  // before StartWorkers.
  void UseUcx() {
    transport_ = {.kind = "ucx", .ucx_config = {{"TLS", "tcp"}, {"NET_DEVICES", "lo"}}};
  }

  // Runs `request` in both modes with logprobs and checks that every streamed message carries one
  // logprob per token, the first message (with the first token, which P samples in the
  // disaggregated mode) included, and that the result is their concatenation. Returns the
  // disaggregated and the colocated result.
  std::vector<router::DisaggResult> ExpectLogprobsStreamWithEveryToken(
      router::DisaggRequest request) {
    request.sampling.set_logprobs(true);
    request.sampling.set_top_logprobs(3);
    std::vector<router::DisaggResult> results;
    for (bool local : {false, true}) {
      SCOPED_TRACE(local ? "colocated" : "disaggregated");
      request.local_prefill = local;
      std::vector<int32_t> streamed_ids;
      std::vector<float> streamed_logprobs;
      absl::StatusOr<router::DisaggResult> result =
          client_->Generate(request, [&](const v1::DecodedTokens& message) {
            EXPECT_GT(message.token_ids_size(), 0);
            EXPECT_EQ(message.logprobs_size(), message.token_ids_size())
                << "message " << (streamed_ids.empty() ? "with the first token" : "after it");
            for (int i = 0; i < message.token_ids_size() && i < message.logprobs_size(); ++i) {
              const baton::v1::PositionLogprobs& lp = message.logprobs(i);
              EXPECT_EQ(lp.chosen().token_id(), message.token_ids(i));
              EXPECT_LE(lp.chosen().logprob(), 0.0f);
              EXPECT_EQ(lp.top_size(), 3);
              if (request.sampling.temperature() == 0.0f && lp.top_size() > 0) {
                EXPECT_EQ(lp.top(0).token_id(), message.token_ids(i));  // greedy: the best one
              }
              streamed_logprobs.push_back(lp.chosen().logprob());
            }
            streamed_ids.insert(streamed_ids.end(), message.token_ids().begin(),
                                message.token_ids().end());
            return true;
          });
      EXPECT_OK(result.status());
      if (!result.ok()) return {};
      EXPECT_EQ(streamed_ids, result->tokens);
      EXPECT_EQ(result->tokens.size(), static_cast<size_t>(request.sampling.max_tokens()));
      EXPECT_EQ(result->logprobs.size(), result->tokens.size());
      for (size_t i = 0; i < result->logprobs.size() && i < streamed_logprobs.size(); ++i) {
        EXPECT_EQ(result->logprobs[i].chosen().logprob(), streamed_logprobs[i]);
      }
      results.push_back(*std::move(result));
    }
    return results;
  }

  serving::TransportOptions transport_{.kind = "inprocess"};
  std::string model_path_;
  std::unique_ptr<engine::Engine> reference_;
  std::unique_ptr<decode_worker::DecodeWorker> decode_;
  std::unique_ptr<PrefillWorker> prefill_;
  std::unique_ptr<router::DisaggClient> client_;
};

TEST_F(PrefillWorkerTest, DisaggregatedAndColocatedMatchSingleSequenceGeneration) {
  StartWorkers();
  for (int32_t length : {1, 7, 16, 33, 70}) {
    const std::vector<int32_t> prompt = Prompt(length, length);
    const std::vector<int32_t> expected = Reference(prompt, 24);
    ASSERT_OK_AND_ASSIGN(router::DisaggResult remote, client_->Generate(Request(prompt, 24)));
    EXPECT_EQ(remote.tokens, expected) << "disaggregated, prompt length " << length;
    EXPECT_EQ(remote.finished.finish_reason(), baton::v1::FINISH_REASON_LENGTH);
    EXPECT_EQ(remote.finished.completion_tokens(), 24);
    EXPECT_EQ(remote.prefill.first_token_id(), expected[0]);
    EXPECT_GT(remote.prefill.kv_bytes(), 0u);
    EXPECT_GT(remote.prefill.timings().compute_seconds(), 0.0);
    ASSERT_OK_AND_ASSIGN(router::DisaggResult local,
                         client_->Generate(Request(prompt, 24, /*local=*/true)));
    EXPECT_EQ(local.tokens, expected) << "colocated, prompt length " << length;
  }
  ExpectDecodeIdle();
}

TEST_F(PrefillWorkerTest, ConcurrentRequestsAllMatchAndBatch) {
  StartWorkers();
  constexpr int kRequests = 16;
  std::vector<std::vector<int32_t>> prompts;
  std::vector<int32_t> lengths;
  for (int i = 0; i < kRequests; ++i) {
    prompts.push_back(Prompt(1 + (i * 13) % 50, 100 + i));
    lengths.push_back(4 + (i * 7) % 40);
  }
  std::vector<absl::StatusOr<router::DisaggResult>> results(kRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      results[i] = client_->Generate(Request(prompts[i], lengths[i], /*local=*/i % 4 == 3));
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_OK(results[i].status()) << "request " << i;
    EXPECT_EQ(results[i]->tokens, Reference(prompts[i], lengths[i])) << "request " << i;
  }
  ASSERT_OK_AND_ASSIGN(auto metrics,
                       ::baton::testing::HttpCall(decode_->http_port(), "GET", "/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("baton_decode_max_batch_size"), std::string::npos);
  EXPECT_EQ(metrics.body.find("baton_decode_max_batch_size 1\n"), std::string::npos)
      << "no step ran more than one sequence";
  ExpectDecodeIdle();
}

TEST_F(PrefillWorkerTest, CallerCancellingMidStreamFreesEveryBlock) {
  StartWorkers();
  int seen = 0;
  absl::StatusOr<router::DisaggResult> result =
      client_->Generate(Request(Prompt(20, 1), 400), [&](const v1::DecodedTokens& tokens) {
        seen += tokens.token_ids_size();
        return seen < 5;
      });
  EXPECT_THAT(result.status(), StatusIs(absl::StatusCode::kCancelled));
  ExpectDecodeIdle();
}

TEST_F(PrefillWorkerTest, CancellingDuringSlowPrefillAbortsBothSides) {
  StartWorkers(256, absl::Milliseconds(200));
  router::DisaggRequest request = Request(Prompt(20, 2), 10);
  request.timeout = absl::Milliseconds(150);  // expires while layer 0 sleeps
  absl::StatusOr<router::DisaggResult> result = client_->Generate(request);
  EXPECT_THAT(result.status(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  ExpectDecodeIdle();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && prefill_->Load().free_kv_blocks() != 64) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(prefill_->Load().free_kv_blocks(), 64);
  EXPECT_EQ(prefill_->Load().running_sequences(), 0);
}

// Only the Decode call is cancelled (the Prefill caller does not cancel): D aborts the transfer
// and frees its blocks; P ends the request (ABORTED when the transport tells the sender, else OK
// with its writes dropped by D) and frees its scratch blocks. Nothing leaks on either side.
TEST_F(PrefillWorkerTest, DecodeCancelDuringPrefillLeaksNothing) {
  StartWorkers(256, absl::Milliseconds(150));
  auto decode = v1::DecodeService::NewStub(Channel(decode_->grpc_port()));
  auto prefill = v1::PrefillService::NewStub(Channel(prefill_->grpc_port()));
  v1::DecodeRequest request;
  for (int32_t t : Prompt(30, 9)) request.add_prompt_token_ids(t);
  request.mutable_sampling()->set_temperature(0.0f);
  grpc::ClientContext decode_context;
  v1::KvTarget target;
  auto stream = Reserve(*decode, request, &decode_context, &target);
  ASSERT_NE(stream, nullptr);
  grpc::Status prefill_status;
  std::thread prefill_call([&] {
    v1::PrefillRequest prefill_request;
    *prefill_request.mutable_prompt_token_ids() = request.prompt_token_ids();
    *prefill_request.mutable_kv_target() = target;
    grpc::ClientContext context;  // never cancelled by the client
    v1::PrefillResponse response;
    prefill_status = prefill->Prefill(&context, prefill_request, &response);
  });
  // Cancel once P computes the prompt (each layer then waits 150 ms).
  const absl::Time computing_by = absl::Now() + absl::Seconds(10);
  while (prefill_->Load().running_sequences() == 0 && absl::Now() < computing_by) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_GT(prefill_->Load().running_sequences(), 0);
  decode_context.TryCancel();
  v1::DecodeResponse message;
  while (stream->Read(&message)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  prefill_call.join();
  EXPECT_TRUE(prefill_status.ok() || prefill_status.error_code() == grpc::StatusCode::ABORTED)
      << prefill_status.error_message();
  ExpectDecodeIdle();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && prefill_->Load().free_kv_blocks() != 64) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(prefill_->Load().free_kv_blocks(), 64);
}

// The router renews D's lease while a prompt waits in P's queue, so the lease deadline written in
// the KvTarget when D reserved the blocks may have passed by the time P gets to the prompt: P
// still computes it, and D (whose lease still holds) admits it.
TEST_F(PrefillWorkerTest, PassedLeaseDeadlineInTheTargetDoesNotDropTheQueuedPrompt) {
  StartWorkers();
  auto decode = v1::DecodeService::NewStub(Channel(decode_->grpc_port()));
  auto prefill = v1::PrefillService::NewStub(Channel(prefill_->grpc_port()));
  const std::vector<int32_t> prompt = Prompt(20, 10);
  v1::DecodeRequest request;
  for (int32_t t : prompt) request.add_prompt_token_ids(t);
  request.mutable_sampling()->set_temperature(0.0f);
  request.mutable_sampling()->set_max_tokens(6);
  request.mutable_sampling()->set_ignore_eos(true);
  // On D's clock, which only the test moves (and long, so that the receiver's wall-clock
  // backstop of lease + lease + 10 s is far away too).
  request.set_lease_millis(60000);
  grpc::ClientContext decode_context;
  v1::KvTarget target;
  auto stream = Reserve(*decode, request, &decode_context, &target);
  ASSERT_NE(stream, nullptr);
  v1::PrefillRequest prefill_request;
  *prefill_request.mutable_prompt_token_ids() = request.prompt_token_ids();
  *prefill_request.mutable_sampling() = request.sampling();
  *prefill_request.mutable_kv_target() = target;
  prefill_request.mutable_kv_target()->set_lease_deadline_unix_micros(
      absl::ToUnixMicros(absl::Now() - absl::Seconds(1)));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  v1::PrefillResponse response;
  const grpc::Status status = prefill->Prefill(&context, prefill_request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  std::vector<int32_t> tokens;
  v1::DecodeResponse message;
  while (stream->Read(&message)) {
    tokens.insert(tokens.end(), message.tokens().token_ids().begin(),
                  message.tokens().token_ids().end());
  }
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(tokens, Reference(prompt, 6));
  ExpectDecodeIdle();
}

// DecodeService.RenewLease over gRPC: each renewal starts D's lease over; without one the lease
// ends and the Decode stream fails with UNAVAILABLE; then there is nothing left to renew.
TEST_F(PrefillWorkerTest, RenewLeaseKeepsTheReservationUntilRenewalsStop) {
  StartWorkers();
  auto decode = v1::DecodeService::NewStub(Channel(decode_->grpc_port()));
  v1::DecodeRequest request;
  for (int32_t t : Prompt(20, 10)) request.add_prompt_token_ids(t);
  request.set_lease_millis(20);
  grpc::ClientContext decode_context;
  v1::KvTarget target;
  auto stream = Reserve(*decode, request, &decode_context, &target);
  ASSERT_NE(stream, nullptr);
  auto renew = [&](const std::string& transfer_id) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    v1::RenewLeaseRequest renew_request;
    renew_request.set_transfer_id(transfer_id);
    v1::RenewLeaseResponse response;
    grpc::Status status = decode->RenewLease(&context, renew_request, &response);
    if (status.ok()) EXPECT_EQ(response.lease_millis(), 20);
    return status.error_code();
  };
  const std::string& id = target.transfer_id();
  for (int i = 0; i < 4; ++i) {  // 60 ms of D's clock against a 20 ms lease
    decode_clock_.Advance(absl::Milliseconds(15));
    EXPECT_EQ(renew(id), grpc::StatusCode::OK);
  }
  EXPECT_EQ(decode_->Load().pending_transfers(), 1);
  decode_clock_.Advance(absl::Milliseconds(21));
  v1::DecodeResponse message;
  while (stream->Read(&message)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(renew(id), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(renew("not-a-number"), grpc::StatusCode::INVALID_ARGUMENT);
  ExpectDecodeIdle();
}

TEST_F(PrefillWorkerTest, PoolTooSmallIsResourceExhausted) {
  StartWorkers(/*decode_blocks=*/2);
  EXPECT_THAT(client_->Generate(Request(Prompt(100, 3), 5)).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(client_->Generate(Request(Prompt(100, 3), 5, /*local=*/true)).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

// The prefill worker samples the first token and the decode worker the rest, with no shared
// random state: each draw is keyed by (seed, position). Same seed, same tokens in both modes and
// in a single-sequence run; another seed, other tokens.
TEST_F(PrefillWorkerTest, SeededSamplingGivesTheSameTokensInBothModes) {
  StartWorkers();
  std::vector<std::vector<int32_t>> outputs;
  for (uint64_t seed : {1u, 42u, 7777u}) {
    router::DisaggRequest request = Request(Prompt(11, 7), 24);
    request.sampling.set_temperature(1.5f);
    request.sampling.set_top_k(50);
    request.sampling.set_seed(seed);
    ASSERT_OK_AND_ASSIGN(router::DisaggResult remote, client_->Generate(request));
    request.local_prefill = true;
    ASSERT_OK_AND_ASSIGN(router::DisaggResult local, client_->Generate(request));
    EXPECT_EQ(remote.tokens, local.tokens) << "seed " << seed;
    EXPECT_EQ(remote.tokens, Reference(request.prompt, 24,
                                       {.temperature = 1.5f, .top_k = 50, .seed = seed}))
        << "seed " << seed;
    outputs.push_back(remote.tokens);
  }
  EXPECT_NE(outputs[0], outputs[1]);
  EXPECT_NE(outputs[1], outputs[2]);
}

TEST_F(PrefillWorkerTest, EndOfGenerationFirstTokenStopsInBothModes) {
  // The same weights, with the prompt's first greedy token named as the model's EOT token (the
  // role of <|eot_id|>): the decode worker learns it from the file and stops on it, whether the
  // prefill worker sampled it (disaggregated) or the decode worker did (colocated).
  const std::vector<int32_t> prompt = Prompt(13, 3);
  const int32_t first = Reference(prompt, 1).at(0);
  engine::RandomModelSpec spec = Spec();
  spec.eot_token_id = first;
  model_path_ = std::string(std::getenv("TEST_TMPDIR")) + "/tiny-eot.gguf";
  ASSERT_OK(engine::WriteRandomModel(spec, model_path_));
  StartWorkers();
  for (bool local : {false, true}) {
    router::DisaggRequest request = Request(prompt, 16, local);
    request.sampling.set_ignore_eos(false);
    ASSERT_OK_AND_ASSIGN(router::DisaggResult stopped, client_->Generate(request));
    EXPECT_EQ(stopped.tokens, std::vector<int32_t>{first}) << "local " << local;
    EXPECT_EQ(stopped.finished.finish_reason(), baton::v1::FINISH_REASON_STOP);
    EXPECT_EQ(stopped.finished.completion_tokens(), 1);
    request.sampling.set_ignore_eos(true);
    ASSERT_OK_AND_ASSIGN(router::DisaggResult ignored, client_->Generate(request));
    EXPECT_EQ(ignored.tokens, Reference(prompt, 16)) << "local " << local;
    EXPECT_EQ(ignored.finished.finish_reason(), baton::v1::FINISH_REASON_LENGTH);
  }
  ExpectDecodeIdle();
}

TEST_F(PrefillWorkerTest, LogprobsStreamWithEveryTokenInBothModes) {
  StartWorkers();
  // Greedy, a prompt in several prefill chunks.
  std::vector<router::DisaggResult> greedy =
      ExpectLogprobsStreamWithEveryToken(Request(Prompt(45, 6), 6));
  ASSERT_EQ(greedy.size(), 2u);
  EXPECT_EQ(greedy[0].tokens, greedy[1].tokens);
  // P's logprobs of the first token are those D computes for it when it prefills itself.
  EXPECT_NEAR(greedy[0].logprobs[0].chosen().logprob(), greedy[1].logprobs[0].chosen().logprob(),
              1e-3);
  // Seeded sampling: the first token (P's draw) and the rest agree too.
  router::DisaggRequest sampled = Request(Prompt(12, 5), 8);
  sampled.sampling.set_temperature(1.2f);
  sampled.sampling.set_seed(99);
  std::vector<router::DisaggResult> results = ExpectLogprobsStreamWithEveryToken(sampled);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].tokens, results[1].tokens);
  ExpectDecodeIdle();
}

// The same with the KV (and the completion carrying the first token's logprobs) over UCX.
TEST_F(PrefillWorkerTest, LogprobsStreamWithEveryTokenOverUcx) {
  UseUcx();
  StartWorkers();
  router::DisaggRequest request = Request(Prompt(20, 4), 5);
  request.sampling.set_temperature(0.8f);
  request.sampling.set_seed(5);
  std::vector<router::DisaggResult> results = ExpectLogprobsStreamWithEveryToken(request);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].tokens, results[1].tokens);
  EXPECT_EQ(results[0].prefill.first_token_id(), results[0].tokens[0]);
  ExpectDecodeIdle();
}

TEST_F(PrefillWorkerTest, WatchLoadStreamsReports) {
  StartWorkers();
  auto stub = v1::WorkerService::NewStub(Channel(decode_->grpc_port()));
  grpc::ClientContext context;
  v1::WatchLoadRequest request;
  request.set_interval_millis(50);
  auto stream = stub->WatchLoad(&context, request);
  v1::WorkerLoad load;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(stream->Read(&load));
    EXPECT_EQ(load.role(), v1::WORKER_ROLE_DECODE);
    EXPECT_EQ(load.total_kv_blocks(), 256);
    EXPECT_EQ(load.kv_layout().block_size_tokens(), 16);
    EXPECT_FALSE(load.address().empty());
  }
  context.TryCancel();
  while (stream->Read(&load)) {
  }
  stream->Finish();
}

TEST_F(PrefillWorkerTest, LayoutMismatchIsFailedPreconditionAndFreesTheReservation) {
  StartWorkers(256, {}, engine::KvDType::kF16);  // the prefill worker computes in F32
  EXPECT_THAT(client_->Generate(Request(Prompt(9, 8), 5)).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ExpectDecodeIdle();
}

TEST_F(PrefillWorkerTest, BadRequestsAreInvalidArgument) {
  StartWorkers();
  EXPECT_THAT(client_->Generate(Request({}, 5)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client_->Generate(Request({1, 100000}, 5)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  router::DisaggRequest request = Request({1, 2}, 5);
  request.sampling.set_top_p(2.0f);
  EXPECT_THAT(client_->Generate(request).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(PrefillWorkerTest, ShutdownFinishesInFlightAndRefusesNewWork) {
  StartWorkers();
  std::thread shutdown;
  absl::StatusOr<router::DisaggResult> result =
      client_->Generate(Request(Prompt(10, 4), 30), [&](const v1::DecodedTokens&) {
        if (!shutdown.joinable()) shutdown = std::thread([&] { decode_->Shutdown(); });
        return true;
      });
  shutdown.join();
  ASSERT_OK(result.status());
  EXPECT_EQ(result->tokens.size(), 30u);
  EXPECT_FALSE(client_->Generate(Request(Prompt(10, 4), 30)).ok());
}


TEST_F(PrefillWorkerTest, SharedPrefixPromptsSkipCachedWorkAndMatchTheNoCacheOutputs) {
  StartWorkers();
  std::vector<router::DisaggResult> cached = RunSharedPrefixPrompts();
  ASSERT_EQ(cached.size(), 5u);
  // The first prompt finds nothing; it computes and sends everything.
  EXPECT_EQ(cached[0].prefill.cached_prompt_tokens(), 0);
  EXPECT_EQ(cached[0].prefill.computed_prompt_tokens(), 53);
  EXPECT_EQ(cached[0].prefill.blocks_sent(), 4);
  EXPECT_EQ(cached[0].finished.cached_prompt_tokens(), 0);
  // 64 tokens: P and D both hold the three shared blocks; P computes 16, one block crosses.
  EXPECT_EQ(cached[1].prefill.cached_prompt_tokens(), 48);
  EXPECT_EQ(cached[1].prefill.computed_prompt_tokens(), 16);
  EXPECT_EQ(cached[1].prefill.blocks_sent(), 1);
  EXPECT_EQ(cached[1].finished.cached_prompt_tokens(), 48);
  EXPECT_EQ(cached[1].prefill.kv_bytes() * 4, cached[0].prefill.kv_bytes());
  // The shared part alone: P recomputes the last block for the logits, D holds all of it, so no
  // block crosses: only the completion with the first token.
  EXPECT_EQ(cached[2].prefill.cached_prompt_tokens(), 32);
  EXPECT_EQ(cached[2].prefill.computed_prompt_tokens(), 16);
  EXPECT_EQ(cached[2].prefill.blocks_sent(), 0);
  EXPECT_EQ(cached[2].prefill.kv_bytes(), 0u);
  EXPECT_EQ(cached[2].finished.cached_prompt_tokens(), 48);
  EXPECT_EQ(cached[3].prefill.blocks_sent(), 2);
  EXPECT_EQ(cached[4].prefill.computed_prompt_tokens(), 6);  // 38 tokens: two blocks cached
  ExpectPoolsIdle();
  auto metrics = ::baton::testing::HttpCall(prefill_->http_port(), "GET", "/metrics");
  ASSERT_OK(metrics.status());
  // 53 + 16 + 16 + 21 + 6 prompt tokens computed in all.
  EXPECT_NE(metrics->body.find("baton_prefill_prompt_tokens_total 112\n"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("baton_prefill_prefix_cache_hit_tokens_total 160\n"),
            std::string::npos);

  // The same prompts through workers without a prefix cache: the same tokens, all computed.
  prefix_caching_ = false;
  client_.reset();
  prefill_.reset();
  decode_.reset();
  StartWorkers();
  std::vector<router::DisaggResult> uncached = RunSharedPrefixPrompts();
  ASSERT_EQ(uncached.size(), cached.size());
  for (size_t i = 0; i < cached.size(); ++i) {
    EXPECT_EQ(uncached[i].tokens, cached[i].tokens) << "prompt " << i;
    EXPECT_EQ(uncached[i].prefill.cached_prompt_tokens(), 0);
    EXPECT_EQ(uncached[i].finished.cached_prompt_tokens(), 0);
  }
  ExpectPoolsIdle();
}

// The set a PrefixCacheEvents stream describes, after applying `events` to `names`.
void ApplyPrefixEvents(const v1::PrefixCacheEvents& events, std::set<uint64_t>& names) {
  if (events.snapshot()) names.clear();
  for (uint64_t name : events.removed()) names.erase(name);
  for (uint64_t name : events.stored()) names.insert(name);
}

TEST_F(PrefillWorkerTest, LoadReportsCarryCachedBlocksAsASnapshotThenDeltas) {
  StartWorkers(/*decode_blocks=*/8);
  auto decode_stub = v1::WorkerService::NewStub(Channel(decode_->grpc_port()));
  const std::vector<int32_t> first = Prompt(40, 21);
  ASSERT_OK_AND_ASSIGN(router::DisaggResult a, client_->Generate(Request(first, 9)));
  // KV of 40 + 8 positions: three full blocks, named by the chain the router computes too.
  std::vector<int32_t> a_tokens = first;
  a_tokens.insert(a_tokens.end(), a.tokens.begin(), a.tokens.end());
  grpc::ClientContext get_context;
  v1::WorkerLoad load;
  ASSERT_TRUE(decode_stub->GetLoad(&get_context, v1::GetLoadRequest(), &load).ok());
  const uint64_t seed = kv_cache::PrefixHashSeed(load.model());
  const std::vector<uint64_t> a_names = kv_cache::PrefixBlockHashes(
      seed, absl::MakeConstSpan(a_tokens.data(), 48), load.kv_layout().block_size_tokens());
  ASSERT_EQ(a_names.size(), 3u);
  EXPECT_EQ(load.cached_kv_blocks(), 3);
  EXPECT_TRUE(load.prefix_cache().snapshot());
  std::set<uint64_t> reported;
  ApplyPrefixEvents(load.prefix_cache(), reported);
  EXPECT_EQ(reported, std::set<uint64_t>(a_names.begin(), a_names.end()));

  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::WatchLoadRequest watch;
  watch.set_interval_millis(50);
  auto stream = decode_stub->WatchLoad(&watch_context, watch);
  ASSERT_TRUE(stream->Read(&load));
  EXPECT_TRUE(load.prefix_cache().snapshot());
  std::set<uint64_t> watched;
  ApplyPrefixEvents(load.prefix_cache(), watched);
  EXPECT_EQ(watched, reported);

  // 96 tokens need six of the eight blocks: one of A's cached blocks, the least recently freed
  // (its first), is evicted, and B's six full blocks are stored.
  const std::vector<int32_t> second = Prompt(96, 22);
  ASSERT_OK(client_->Generate(Request(second, 1)).status());
  std::set<uint64_t> expected(a_names.begin() + 1, a_names.end());
  for (uint64_t name : kv_cache::PrefixBlockHashes(seed, second, 16)) expected.insert(name);
  bool saw_removal = false;
  while (watched != expected && stream->Read(&load)) {
    if (!load.prefix_cache().snapshot()) {
      saw_removal = saw_removal || absl::c_linear_search(load.prefix_cache().removed(), a_names[0]);
    }
    ApplyPrefixEvents(load.prefix_cache(), watched);
  }
  EXPECT_EQ(watched, expected);
  EXPECT_TRUE(saw_removal);
  watch_context.TryCancel();
  while (stream->Read(&load)) {
  }
  stream->Finish();

  // The prefill worker reports its own cache: the full prompt blocks it computed.
  auto prefill_stub = v1::WorkerService::NewStub(Channel(prefill_->grpc_port()));
  grpc::ClientContext prefill_context;
  ASSERT_TRUE(prefill_stub->GetLoad(&prefill_context, v1::GetLoadRequest(), &load).ok());
  std::set<uint64_t> prefill_names;
  ApplyPrefixEvents(load.prefix_cache(), prefill_names);
  EXPECT_EQ(load.cached_kv_blocks(), 8);  // two of A's prompt, six of B's
  for (uint64_t name : kv_cache::PrefixBlockHashes(seed, first, 16)) {
    EXPECT_TRUE(prefill_names.contains(name));
  }
  ExpectPoolsIdle();
}

TEST_F(PrefillWorkerTest, SharedPrefixPromptsOverUcxMatch) {
  UseUcx();
  StartWorkers();
  std::vector<router::DisaggResult> results = RunSharedPrefixPrompts();
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[2].prefill.blocks_sent(), 0);  // a transfer of the completion alone
  ExpectPoolsIdle();
}

}  // namespace
}  // namespace baton::prefill_worker
