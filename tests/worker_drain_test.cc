// SIGTERM drains a worker process: its load reports say draining, gRPC health answers
// NOT_SERVING, new requests are refused with UNAVAILABLE, the request it holds finishes with the
// undisturbed greedy tokens, its last load report shows an idle pool, and the process exits 0.
#include <signal.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "proto/baton/internal/v1/decode.grpc.pb.h"
#include "proto/baton/internal/v1/prefill.grpc.pb.h"
#include "proto/baton/internal/v1/worker.grpc.pb.h"
#include "common/grpc_health.h"
#include "tests/cluster.h"

namespace baton::testing {
namespace {

namespace v1 = ::baton::internal::v1;

std::shared_ptr<grpc::Channel> Channel(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

v1::DecodeRequest GreedyDecodeRequest(const std::vector<int32_t>& prompt, int32_t max_tokens) {
  v1::DecodeRequest request;
  request.set_request_id("drain");
  for (int32_t t : prompt) request.add_prompt_token_ids(t);
  request.mutable_sampling()->set_temperature(0.0f);
  request.mutable_sampling()->set_max_tokens(max_tokens);
  request.mutable_sampling()->set_ignore_eos(true);
  return request;
}

// Reads a WatchLoad stream until a report says draining (left in `load`); false when the stream
// ends first.
bool WaitForDraining(grpc::ClientReader<v1::WorkerLoad>& stream, v1::WorkerLoad& load) {
  while (stream.Read(&load)) {
    if (load.draining()) return true;
  }
  return false;
}

class WorkerDrainTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(model_, MakeRandomModel("q4_0", 9)); }

  // Runs the prefill of `kv_target` on the cluster's prefill worker; its status.
  static grpc::Status Prefill(Cluster& cluster, const v1::DecodeRequest& request,
                              const v1::KvTarget& kv_target) {
    auto prefill = v1::PrefillService::NewStub(Channel(cluster.prefill().grpc_port()));
    v1::PrefillRequest prefill_request;
    *prefill_request.mutable_prompt_token_ids() = request.prompt_token_ids();
    *prefill_request.mutable_sampling() = request.sampling();
    *prefill_request.mutable_kv_target() = kv_target;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::PrefillResponse response;
    return prefill->Prefill(&context, prefill_request, &response);
  }

  // Reads a Decode stream to its end; the tokens, or the stream's error.
  static absl::StatusOr<std::vector<int32_t>> ReadTokens(
      grpc::ClientReader<v1::DecodeResponse>& stream) {
    std::vector<int32_t> tokens;
    v1::DecodeResponse message;
    bool finished = false;
    while (stream.Read(&message)) {
      for (int32_t t : message.tokens().token_ids()) tokens.push_back(t);
      finished = finished || message.has_finished();
    }
    grpc::Status status = stream.Finish();
    if (!status.ok()) return common::FromGrpcStatus(status);
    if (!finished) return absl::InternalError("stream ended without a finished message");
    return tokens;
  }

  // Opens a remote-prefill Decode call on the cluster's decode worker and reads its KvTarget:
  // the worker then holds the request until the KV arrives.
  static std::unique_ptr<grpc::ClientReader<v1::DecodeResponse>> OpenHeldDecode(
      v1::DecodeService::Stub& decode, const v1::DecodeRequest& request,
      grpc::ClientContext& context, v1::KvTarget& kv_target) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    auto stream = decode.Decode(&context, request);
    v1::DecodeResponse first;
    EXPECT_TRUE(stream->Read(&first));
    EXPECT_TRUE(first.has_kv_target());
    kv_target = first.kv_target();
    return stream;
  }

  // Opens WatchLoad on the worker at `port` and checks that its first report is not draining.
  static std::unique_ptr<grpc::ClientReader<v1::WorkerLoad>> OpenWatch(
      v1::WorkerService::Stub& workers, grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::WatchLoadRequest watch;
    watch.set_interval_millis(50);
    auto reports = workers.WatchLoad(&context, watch);
    v1::WorkerLoad load;
    EXPECT_TRUE(reports->Read(&load));
    EXPECT_FALSE(load.draining());
    return reports;
  }

  // Checks the held stream ends with the undisturbed greedy tokens and the worker exits 0.
  void ExpectFinishedAndExitedZero(grpc::ClientReader<v1::DecodeResponse>& stream,
                                   const std::vector<int32_t>& prompt, int32_t max_tokens,
                                   WorkerProcess& drained) {
    absl::StatusOr<std::vector<int32_t>> tokens = ReadTokens(stream);
    ASSERT_OK(tokens.status());
    ASSERT_OK_AND_ASSIGN(std::vector<int32_t> expected,
                         GenerateReference(model_, prompt, max_tokens));
    EXPECT_EQ(*tokens, expected);
    ASSERT_OK_AND_ASSIGN(int exit_code, drained.Wait(absl::Seconds(60)));
    EXPECT_EQ(exit_code, 0);
  }

  // Reads the rest of a drained worker's WatchLoad stream: its last report (sent as it stops)
  // shows the pool back to all blocks free or cached-evictable, nothing running.
  static void ExpectLastReportIdle(grpc::ClientReader<v1::WorkerLoad>& reports,
                                   v1::WorkerLoad last) {
    v1::WorkerLoad load;
    while (reports.Read(&load)) last = load;
    reports.Finish();
    EXPECT_TRUE(last.draining());
    EXPECT_EQ(last.free_kv_blocks(), last.total_kv_blocks()) << last.DebugString();
    EXPECT_EQ(last.running_sequences() + last.waiting_sequences(), 0);
  }

  std::string model_;
};

TEST_F(WorkerDrainTest, SigtermedDecodeWorkerFinishesItsStreamRefusesNewOnesAndExitsZero) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Cluster> cluster,
                       Cluster::Start({.model_path = model_,
                                       .decode_flags = {"--shutdown_grace_ms=120000"}}));
  auto decode = v1::DecodeService::NewStub(Channel(cluster->decode().grpc_port()));
  auto workers = v1::WorkerService::NewStub(Channel(cluster->decode().grpc_port()));
  // A request whose KV has not arrived yet: the worker must keep it through the drain.
  const std::vector<int32_t> prompt = SyntheticPrompt(40, 3);
  const v1::DecodeRequest request = GreedyDecodeRequest(prompt, 16);
  grpc::ClientContext decode_context;
  v1::KvTarget kv_target;
  auto stream = OpenHeldDecode(*decode, request, decode_context, kv_target);
  grpc::ClientContext watch_context;
  auto reports = OpenWatch(*workers, watch_context);
  ASSERT_OK_AND_ASSIGN(bool serving,
                       common::CheckGrpcHealth(Channel(cluster->decode().grpc_port()),
                                               absl::Seconds(10), /*wait_for_ready=*/true));
  EXPECT_TRUE(serving);

  cluster->decode().Signal(SIGTERM);
  v1::WorkerLoad draining;
  ASSERT_TRUE(WaitForDraining(*reports, draining));
  ASSERT_OK_AND_ASSIGN(serving,
                       common::CheckGrpcHealth(Channel(cluster->decode().grpc_port()),
                                               absl::Seconds(10), /*wait_for_ready=*/true));
  EXPECT_FALSE(serving);
  grpc::ClientContext refused_context;
  refused_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto refused = decode->Decode(&refused_context, GreedyDecodeRequest(SyntheticPrompt(8, 4), 4));
  EXPECT_THAT(ReadTokens(*refused).status(), StatusIs(absl::StatusCode::kUnavailable));

  // The held request completes: its KV arrives and it streams the undisturbed tokens.
  grpc::Status prefilled = Prefill(*cluster, request, kv_target);
  EXPECT_TRUE(prefilled.ok()) << prefilled.error_message();
  ExpectFinishedAndExitedZero(*stream, prompt, 16, cluster->decode());
  ExpectLastReportIdle(*reports, draining);
}

TEST_F(WorkerDrainTest, SigtermedPrefillWorkerReportsDrainingFinishesItsPromptAndExitsZero) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Cluster> cluster,
      Cluster::Start({.model_path = model_,
                      .prefill_flags = {"--testing_layer_delay_ms=200",
                                        "--shutdown_grace_ms=120000"}}));
  auto decode = v1::DecodeService::NewStub(Channel(cluster->decode().grpc_port()));
  const std::vector<int32_t> prompt = SyntheticPrompt(40, 5);
  const v1::DecodeRequest request = GreedyDecodeRequest(prompt, 12);
  grpc::ClientContext decode_context;
  v1::KvTarget kv_target;
  auto stream = OpenHeldDecode(*decode, request, decode_context, kv_target);
  auto workers = v1::WorkerService::NewStub(Channel(cluster->prefill().grpc_port()));
  grpc::ClientContext watch_context;
  auto reports = OpenWatch(*workers, watch_context);

  grpc::Status prefilled;
  std::thread prefill([&] { prefilled = Prefill(*cluster, request, kv_target); });
  // SIGTERM once the prompt is queued or computing (each layer waits 200 ms).
  v1::WorkerLoad load;
  while (reports->Read(&load) && load.running_sequences() + load.waiting_sequences() == 0) {
  }
  cluster->prefill().Signal(SIGTERM);
  v1::WorkerLoad draining;
  EXPECT_TRUE(WaitForDraining(*reports, draining));
  prefill.join();
  EXPECT_TRUE(prefilled.ok()) << prefilled.error_message();
  ExpectFinishedAndExitedZero(*stream, prompt, 12, cluster->prefill());
  ExpectLastReportIdle(*reports, draining);
}

}  // namespace
}  // namespace baton::testing
