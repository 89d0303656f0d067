// Failure paths with real processes: a prefill worker killed mid-prefill, a client cancelling
// mid-stream, a pool too small for the request, SIGTERM; plus promtool on both /metrics (prefix
// cache metrics included).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "proto/baton/internal/v1/decode.grpc.pb.h"
#include "proto/baton/internal/v1/prefill.grpc.pb.h"
#include "tests/cluster.h"

namespace baton::testing {
namespace {

namespace v1 = ::baton::internal::v1;

class FailureTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(model_, MakeRandomModel("q4_0", 9)); }
  std::string model_;
};

TEST_F(FailureTest, KilledPrefillWorkerReleasesTheLeaseAndFailsUnavailable) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Cluster> cluster,
                       Cluster::Start({.model_path = model_,
                                       .decode_flags = {"--lease_ms=1500"},
                                       .prefill_flags = {"--testing_layer_delay_ms=400"}}));
  // Drive the handoff by hand so the Decode stream outlives the prefill worker.
  auto decode = v1::DecodeService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", cluster->decode().grpc_port()),
                          grpc::InsecureChannelCredentials()));
  auto prefill = v1::PrefillService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", cluster->prefill().grpc_port()),
                          grpc::InsecureChannelCredentials()));
  v1::DecodeRequest request;
  request.set_request_id("doomed");
  for (int32_t t : SyntheticPrompt(40, 1)) request.add_prompt_token_ids(t);
  request.mutable_sampling()->set_temperature(0.0f);
  request.mutable_sampling()->set_max_tokens(8);
  grpc::ClientContext decode_context;
  auto stream = decode->Decode(&decode_context, request);
  v1::DecodeResponse first;
  ASSERT_TRUE(stream->Read(&first));
  ASSERT_TRUE(first.has_kv_target());
  v1::WorkerLoad reserved;
  for (int i = 0; i < 100 && reserved.pending_transfers() != 1; ++i) {
    ASSERT_OK_AND_ASSIGN(reserved, Cluster::GetLoad(cluster->decode().grpc_port()));
  }
  EXPECT_EQ(reserved.pending_transfers(), 1);
  EXPECT_LT(reserved.free_kv_blocks(), reserved.total_kv_blocks());

  std::thread prefill_call([&] {
    v1::PrefillRequest prefill_request;
    *prefill_request.mutable_prompt_token_ids() = request.prompt_token_ids();
    *prefill_request.mutable_sampling() = request.sampling();
    *prefill_request.mutable_kv_target() = first.kv_target();
    grpc::ClientContext context;
    v1::PrefillResponse response;
    grpc::Status status = prefill->Prefill(&context, prefill_request, &response);
    EXPECT_FALSE(status.ok());
  });
  // Kill it once it is computing (the first layer sleeps 400 ms).
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    absl::StatusOr<v1::WorkerLoad> load = Cluster::GetLoad(cluster->prefill().grpc_port());
    if (load.ok() && load->running_sequences() > 0) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  const absl::Time killed_at = absl::Now();
  cluster->KillPrefill();
  prefill_call.join();

  v1::DecodeResponse message;
  while (stream->Read(&message)) {
    EXPECT_FALSE(message.has_tokens()) << "tokens decoded from KV that never completed";
  }
  const absl::Status status = common::FromGrpcStatus(stream->Finish());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - killed_at, absl::Milliseconds(1500 + 3000));
  EXPECT_OK(cluster->WaitDecodeIdle(absl::Seconds(5)));
}

// The router retries a prefill on another worker with the same KvTarget while D's lease lasts.
TEST_F(FailureTest, PrefillFailsOverToAnotherWorkerWithTheSameTarget) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Cluster> cluster,
                       Cluster::Start({.model_path = model_,
                                       .prefill_flags = {"--testing_layer_delay_ms=300"},
                                       .num_prefill = 2}));
  const std::vector<int32_t> prompt = SyntheticPrompt(33, 5);
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> expected, GenerateReference(model_, prompt, 12));
  absl::StatusOr<router::DisaggResult> result;
  // The client's first request goes to prefill worker 0.
  std::thread request([&] { result = cluster->client().Generate(GreedyRequest(prompt, 12)); });
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    absl::StatusOr<v1::WorkerLoad> load = Cluster::GetLoad(cluster->prefill(0).grpc_port());
    if (load.ok() && load->running_sequences() > 0) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  cluster->KillPrefill(0);  // computing: inside the first layer's 300 ms delay at the latest
  request.join();
  ASSERT_OK(result.status());
  EXPECT_EQ(result->tokens, expected);
  EXPECT_OK(cluster->WaitDecodeIdle());
}

TEST_F(FailureTest, CancellingMidStreamFreesEveryBlock) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Cluster> cluster, Cluster::Start({.model_path = model_}));
  for (bool local : {false, true}) {
    int seen = 0;
    absl::StatusOr<router::DisaggResult> result = cluster->client().Generate(
        GreedyRequest(SyntheticPrompt(50, 2), 400, local), [&](const v1::DecodedTokens& tokens) {
          seen += tokens.token_ids_size();
          return seen < 5;
        });
    EXPECT_THAT(result.status(), StatusIs(absl::StatusCode::kCancelled));
    EXPECT_OK(cluster->WaitDecodeIdle());
  }
  ASSERT_OK_AND_ASSIGN(std::string metrics, Cluster::Metrics(cluster->decode().http_port()));
  EXPECT_NE(metrics.find("baton_decode_cancelled_total 2"), std::string::npos) << metrics;
}

TEST_F(FailureTest, PoolTooSmallIsResourceExhaustedNotACrash) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Cluster> cluster,
                       Cluster::Start({.model_path = model_, .decode_flags = {"--kv_blocks=2"}}));
  for (bool local : {false, true}) {
    EXPECT_THAT(
        cluster->client().Generate(GreedyRequest(SyntheticPrompt(100, 3), 5, local)).status(),
        StatusIs(absl::StatusCode::kResourceExhausted));
  }
  // Still serving: a request that fits completes.
  ASSERT_OK_AND_ASSIGN(router::DisaggResult ok,
                       cluster->client().Generate(GreedyRequest(SyntheticPrompt(4, 3), 5)));
  EXPECT_EQ(ok.tokens.size(), 5u);
  EXPECT_OK(cluster->WaitDecodeIdle());
}

TEST_F(FailureTest, MetricsPassPromtoolAndSigtermShutsDownCleanly) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Cluster> cluster, Cluster::Start({.model_path = model_}));
  ASSERT_OK(cluster->client().Generate(GreedyRequest(SyntheticPrompt(9, 4), 6)).status());
  // The same 40-token prompt twice: the second finds its first two blocks (32 tokens) cached on
  // both workers, so the prefill worker computes 40 + 8 of its tokens.
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK(cluster->client().Generate(GreedyRequest(SyntheticPrompt(40, 5), 6)).status());
  }
  ASSERT_OK_AND_ASSIGN(std::string decode_metrics, Cluster::Metrics(cluster->decode().http_port()));
  ASSERT_OK_AND_ASSIGN(std::string prefill_metrics,
                       Cluster::Metrics(cluster->prefill().http_port()));
  for (const char* line :
       {"baton_decode_prefix_cache_hit_tokens_total 32\n", "baton_decode_prefix_cache_blocks 2\n",
        "baton_decode_prefix_cache_stored_blocks_total 2\n",
        "baton_decode_prefix_cache_evicted_blocks_total 0\n"}) {
    EXPECT_NE(decode_metrics.find(line), std::string::npos) << line << decode_metrics;
  }
  for (const char* line : {"baton_prefill_prefix_cache_hit_tokens_total 32\n",
                                  "baton_prefill_prompt_tokens_total 57\n",
                                  "baton_prefill_prefix_cache_stored_blocks_total 2\n"}) {
    EXPECT_NE(prefill_metrics.find(line), std::string::npos) << line << prefill_metrics;
  }
  // Both pools are back to all blocks free or cached-evictable.
  EXPECT_OK(cluster->WaitDecodeIdle());
  v1::WorkerLoad prefill_load;
  for (const absl::Time give_up = absl::Now() + absl::Seconds(10); absl::Now() < give_up;) {
    ASSERT_OK_AND_ASSIGN(prefill_load, Cluster::GetLoad(cluster->prefill().grpc_port()));
    if (prefill_load.free_kv_blocks() == prefill_load.total_kv_blocks()) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(prefill_load.free_kv_blocks(), prefill_load.total_kv_blocks());
  EXPECT_EQ(prefill_load.cached_kv_blocks(), 2);
  for (int port : {cluster->decode().http_port(), cluster->prefill().http_port()}) {
    ASSERT_OK_AND_ASSIGN(std::string metrics, Cluster::Metrics(port));
    const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/metrics-", port, ".txt");
    std::ofstream(path) << metrics;
    const std::string command = absl::StrCat("promtool check metrics < ", path, " 2>&1");
    if (std::system("command -v promtool >/dev/null") == 0) {
      EXPECT_EQ(std::system(command.c_str()), 0) << metrics;
    }
  }
  cluster->decode().Signal(SIGTERM);
  cluster->prefill().Signal(SIGTERM);
  for (WorkerProcess* worker : {&cluster->decode(), &cluster->prefill()}) {
    absl::StatusOr<int> exit_code = worker->Wait(absl::Seconds(10));
    ASSERT_OK(exit_code.status());
    EXPECT_EQ(*exit_code, 0);
  }
}

}  // namespace
}  // namespace baton::testing
