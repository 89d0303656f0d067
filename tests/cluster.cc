#include "tests/cluster.h"

#include <signal.h>

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/testing/http_client.h"
#include "nlohmann/json.hpp"
#include "proto/baton/internal/v1/worker.grpc.pb.h"

namespace baton::testing {

namespace v1 = ::baton::internal::v1;

namespace {

std::shared_ptr<grpc::Channel> Channel(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

}  // namespace

std::vector<std::string> UcxEnvironment() {
  return {"UCX_TLS=tcp", "UCX_NET_DEVICES=lo", "UCX_WARN_UNUSED_ENV_VARS=n"};
}

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Start(const ClusterOptions& options) {
  auto cluster = std::unique_ptr<Cluster>(new Cluster());
  const std::vector<std::string> env = options.ucx_env.empty() ? UcxEnvironment() : options.ucx_env;
  std::vector<std::string> decode_args = {absl::StrCat("--model=", options.model_path),
                                          "--transport=ucx", "--shutdown_grace_ms=2000"};
  decode_args.insert(decode_args.end(), options.decode_flags.begin(), options.decode_flags.end());
  absl::StatusOr<std::unique_ptr<WorkerProcess>> decode =
      WorkerProcess::Start(RunfilePath("decode_worker/decode_worker"), decode_args, env);
  if (!decode.ok()) return decode.status();
  cluster->decode_ = *std::move(decode);
  std::vector<std::shared_ptr<grpc::Channel>> prefill_channels;
  for (int i = 0; i < options.num_prefill; ++i) {
    std::vector<std::string> prefill_args = {absl::StrCat("--model=", options.model_path),
                                             "--transport=ucx", "--shutdown_grace_ms=2000"};
    prefill_args.insert(prefill_args.end(), options.prefill_flags.begin(),
                        options.prefill_flags.end());
    absl::StatusOr<std::unique_ptr<WorkerProcess>> prefill =
        WorkerProcess::Start(RunfilePath("prefill_worker/prefill_worker"), prefill_args, env);
    if (!prefill.ok()) return prefill.status();
    prefill_channels.push_back(Channel((*prefill)->grpc_port()));
    cluster->prefill_.push_back(*std::move(prefill));
  }
  cluster->client_ = std::make_unique<router::DisaggClient>(Channel(cluster->decode_->grpc_port()),
                                                            prefill_channels);
  return cluster;
}

void Cluster::KillPrefill(int i) {
  prefill_[i]->Signal(SIGKILL);
  (void)prefill_[i]->Wait(absl::Seconds(10));
}

absl::StatusOr<v1::WorkerLoad> Cluster::GetLoad(int grpc_port) {
  auto stub = v1::WorkerService::NewStub(Channel(grpc_port));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::WorkerLoad load;
  grpc::Status status = stub->GetLoad(&context, v1::GetLoadRequest(), &load);
  if (!status.ok()) return common::FromGrpcStatus(status);
  return load;
}

absl::Status Cluster::WaitDecodeIdle(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  v1::WorkerLoad load;
  while (absl::Now() < deadline) {
    absl::StatusOr<v1::WorkerLoad> got = GetLoad(decode_->grpc_port());
    if (!got.ok()) return got.status();
    load = *got;
    if (load.free_kv_blocks() == load.total_kv_blocks() && load.running_sequences() == 0 &&
        load.waiting_sequences() == 0 && load.pending_transfers() == 0) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("decode worker not idle: ", load.ShortDebugString()));
}

double Cluster::MetricValue(const std::string& exposition, const std::string& sample) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!absl::ConsumePrefix(&line, sample + " ")) continue;
    double value = 0;
    if (absl::SimpleAtod(line, &value)) return value;
  }
  return -1;
}

absl::StatusOr<std::string> Cluster::Metrics(int http_port) {
  absl::StatusOr<HttpResult> result = HttpCall(http_port, "GET", "/metrics");
  if (!result.ok()) return result.status();
  if (result->status != 200) return absl::InternalError(absl::StrCat("HTTP ", result->status));
  return result->body;
}

router::DisaggRequest GreedyRequest(std::vector<int32_t> prompt, int32_t max_tokens,
                                    bool local_prefill) {
  router::DisaggRequest request;
  request.request_id = "test";
  request.prompt = std::move(prompt);
  request.sampling.set_temperature(0.0f);
  request.sampling.set_max_tokens(max_tokens);
  request.sampling.set_ignore_eos(true);
  request.local_prefill = local_prefill;
  request.timeout = absl::Seconds(60);
  return request;
}

absl::StatusOr<std::vector<int32_t>> GenerateReference(const std::string& model_path,
                                                       const std::vector<int32_t>& prompt,
                                                       int32_t max_tokens) {
  absl::StatusOr<std::string> out =
      RunTool(RunfilePath("engine/tools/generate"),
              {absl::StrCat("--model=", model_path),
               absl::StrCat("--prompt_tokens=", absl::StrJoin(prompt, ",")),
               absl::StrCat("--max_tokens=", max_tokens), "--temperature=0", "--kv_type=f32"});
  if (!out.ok()) return out.status();
  nlohmann::json json = nlohmann::json::parse(*out, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.contains("tokens")) {
    return absl::InternalError(absl::StrCat("unexpected generate output: ", *out));
  }
  std::vector<int32_t> tokens;
  for (const auto& t : json["tokens"]) tokens.push_back(t.get<int32_t>());
  return tokens;
}

absl::StatusOr<std::string> MakeRandomModel(const std::string& type, int seed) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/random-", type, "-", seed, ".gguf");
  absl::StatusOr<std::string> out = RunTool(
      RunfilePath("engine/tools/make_model"),
      {absl::StrCat("--type=", type), absl::StrCat("--seed=", seed), absl::StrCat("--out=", path)});
  if (!out.ok()) return out.status();
  return path;
}

std::vector<int32_t> SyntheticPrompt(int32_t length, int32_t seed, int32_t vocab_span) {
  std::vector<int32_t> prompt;
  for (int32_t i = 0; i < length; ++i) prompt.push_back(3 + (seed * 37 + i * 13) % vocab_span);
  return prompt;
}

}  // namespace baton::testing
