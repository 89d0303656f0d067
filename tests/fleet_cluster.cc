#include "tests/fleet_cluster.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/testing/http_client.h"
#include "common/testing/shared_data.h"
#include "grpcpp/grpcpp.h"
#include "proto/baton/internal/v1/worker.grpc.pb.h"
#include "proto/baton/v1/inference.grpc.pb.h"
#include "tests/cluster.h"

namespace baton::testing {

namespace internal_v1 = ::baton::internal::v1;

std::string FleetCluster::Address(const WorkerProcess& worker) {
  return absl::StrCat("127.0.0.1:", worker.grpc_port());
}

absl::StatusOr<std::unique_ptr<WorkerProcess>> FleetCluster::StartWorker(
    const std::string& binary, std::vector<std::string> args) {
  args.insert(args.begin(), {absl::StrCat("--model=", options_.model_path), "--transport=ucx",
                             "--shutdown_grace_ms=5000"});
  return WorkerProcess::Start(RunfilePath(binary), args, UcxEnvironment());
}

absl::StatusOr<std::unique_ptr<FleetCluster>> FleetCluster::Start(
    const FleetClusterOptions& options) {
  auto cluster = std::unique_ptr<FleetCluster>(new FleetCluster());
  cluster->options_ = options;
  std::vector<std::string> prefill_addresses, decode_addresses;
  for (int i = 0; i < options.num_decode; ++i) {
    auto worker = cluster->StartWorker("decode_worker/decode_worker", options.decode_flags);
    if (!worker.ok()) return worker.status();
    decode_addresses.push_back(Address(**worker));
    cluster->decode_ports_.push_back((*worker)->grpc_port());
    cluster->decode_.push_back(*std::move(worker));
  }
  for (int i = 0; i < options.num_prefill; ++i) {
    auto worker = cluster->StartWorker("prefill_worker/prefill_worker", options.prefill_flags);
    if (!worker.ok()) return worker.status();
    prefill_addresses.push_back(Address(**worker));
    cluster->prefill_.push_back(*std::move(worker));
  }
  for (int r = 0; r < options.num_routers; ++r) {
    std::vector<std::string> args = {absl::StrCat("--model=", options.model_path),
                                     absl::StrCat("--decode=", absl::StrJoin(decode_addresses, ",")),
                                     absl::StrCat("--prefill=", absl::StrJoin(prefill_addresses, ",")),
                                     "--grpc_port=0",
                                     "--http_port=0",
                                     "--shutdown_grace_ms=1000",
                                     "--startup_wait_s=60"};
    args.insert(args.end(), options.router_flags.begin(), options.router_flags.end());
    auto router = WorkerProcess::Start(RunfilePath("router/router"), args, {},
                                       absl::Seconds(90));
    if (!router.ok()) return router.status();
    cluster->routers_.push_back(*std::move(router));
  }
  return cluster;
}

void FleetCluster::KillPrefill(int i) {
  prefill_[i]->Signal(SIGKILL);
  (void)prefill_[i]->Wait(absl::Seconds(10));
  prefill_[i].reset();
}

void FleetCluster::KillDecode(int i) {
  decode_[i]->Signal(SIGKILL);
  (void)decode_[i]->Wait(absl::Seconds(10));
  decode_[i].reset();
}

absl::StatusOr<int> FleetCluster::WaitDecodeExit(int i, absl::Duration timeout) {
  absl::StatusOr<int> code = decode_[i]->Wait(timeout);
  if (code.ok()) decode_[i].reset();
  return code;
}

absl::Status FleetCluster::RestartDecode(int i) {
  if (decode_[i] != nullptr) KillDecode(i);
  std::vector<std::string> args = options_.decode_flags;
  args.push_back(absl::StrCat("--grpc_port=", decode_ports_[i]));
  auto worker = StartWorker("decode_worker/decode_worker", args);
  if (!worker.ok()) return worker.status();
  decode_[i] = *std::move(worker);
  return absl::OkStatus();
}

absl::StatusOr<StreamResult> FleetCluster::Generate(int r, const std::vector<int32_t>& prompt,
                                                    int32_t max_tokens,
                                                    const std::function<void(size_t)>& on_tokens,
                                                    absl::Duration timeout) const {
  auto stub = baton::v1::Inference::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", routers_[r]->grpc_port()), grpc::InsecureChannelCredentials()));
  baton::v1::GenerateRequest request;
  request.mutable_token_ids()->mutable_ids()->Add(prompt.begin(), prompt.end());
  request.mutable_sampling()->set_temperature(0);
  request.mutable_sampling()->set_max_tokens(max_tokens);
  request.mutable_sampling()->set_ignore_eos(true);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  auto reader = stub->Generate(&context, request);
  StreamResult result;
  baton::v1::GenerateResponse chunk;
  while (reader->Read(&chunk)) {
    result.tokens.insert(result.tokens.end(), chunk.token_ids().begin(), chunk.token_ids().end());
    if (chunk.finish_reason() != baton::v1::FINISH_REASON_UNSPECIFIED) {
      result.finish_reason = chunk.finish_reason();
    }
    if (on_tokens != nullptr && chunk.token_ids_size() > 0) on_tokens(result.tokens.size());
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return common::FromGrpcStatus(status);
  return result;
}

absl::Status FleetCluster::WaitWorkersIdle(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (auto* group : {&prefill_, &decode_}) {
    for (auto& worker : *group) {
      if (worker == nullptr) continue;
      absl::StatusOr<internal_v1::WorkerLoad> idle =
          WaitForLoad(*worker, PoolIdle, deadline - absl::Now());
      if (!idle.ok()) {
        return absl::Status(idle.status().code(), absl::StrCat("worker ", Address(*worker),
                                                               " not idle: ",
                                                               idle.status().message()));
      }
    }
  }
  return absl::OkStatus();
}

ConcurrentStreams::ConcurrentStreams(const FleetCluster* cluster,
                                     std::vector<std::vector<int32_t>> prompts, int32_t max_tokens)
    : progress_(prompts.size(), 0),
      results_(prompts.size(), absl::UnknownError("not run")) {
  for (size_t i = 0; i < prompts.size(); ++i) {
    threads_.emplace_back([this, cluster, i, max_tokens, prompt = std::move(prompts[i])] {
      absl::StatusOr<StreamResult> result =
          cluster->Generate(0, prompt, max_tokens, [&](size_t tokens) {
            absl::MutexLock lock(&mu_);
            progress_[i] = tokens;
          });
      absl::MutexLock lock(&mu_);
      results_[i] = std::move(result);
      progress_[i] = static_cast<size_t>(-1);  // ended
    });
  }
}

ConcurrentStreams::~ConcurrentStreams() { Join(); }

bool ConcurrentStreams::WaitAllStreamed(size_t tokens, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto streamed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (size_t p : progress_) {
      if (p < tokens) return false;
    }
    return true;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&streamed), timeout);
}

std::vector<absl::StatusOr<StreamResult>> ConcurrentStreams::Join() {
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  absl::MutexLock lock(&mu_);
  return results_;
}

std::optional<std::string> StoriesModel() { return SharedFile("models/stories260K.gguf"); }

std::vector<int32_t> WordPrompt(int32_t length, int32_t seed) {
  std::vector<int32_t> prompt = {1};  // BOS
  for (int32_t i = 1; i < length; ++i) prompt.push_back(259 + (seed * 53 + i * 17) % 250);
  return prompt;
}

absl::StatusOr<std::string> MakeLongContextModel(int seed) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/random-long-", seed, ".gguf");
  absl::StatusOr<std::string> out =
      RunTool(RunfilePath("engine/tools/make_model"),
              {"--type=q4_0", "--shape=custom", "--context=2048", absl::StrCat("--seed=", seed),
               absl::StrCat("--out=", path)});
  if (!out.ok()) return out.status();
  return path;
}

bool PoolIdle(const internal_v1::WorkerLoad& load) {
  return load.free_kv_blocks() == load.total_kv_blocks() && load.running_sequences() == 0 &&
         load.waiting_sequences() == 0 && load.pending_transfers() == 0;
}

absl::StatusOr<internal_v1::WorkerLoad> WaitForLoad(
    const WorkerProcess& worker, const std::function<bool(const internal_v1::WorkerLoad&)>& done,
    absl::Duration timeout) {
  auto stub = internal_v1::WorkerService::NewStub(grpc::CreateChannel(
      FleetCluster::Address(worker), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + std::max(timeout, absl::ZeroDuration())));
  internal_v1::WatchLoadRequest request;
  request.set_interval_millis(100);
  auto reader = stub->WatchLoad(&context, request);
  internal_v1::WorkerLoad load;
  bool any = false;
  while (reader->Read(&load)) {
    any = true;
    if (done(load)) {
      context.TryCancel();
      (void)reader->Finish();
      return load;
    }
  }
  const absl::Status status = common::FromGrpcStatus(reader->Finish());
  const std::string last = any ? load.ShortDebugString() : "no report";
  if (absl::IsDeadlineExceeded(status) || status.ok()) {
    return absl::DeadlineExceededError(absl::StrCat("last report: ", last));
  }
  return absl::Status(status.code(), absl::StrCat(status.message(), "; last report: ", last));
}

double MetricSum(const std::string& text, const std::string& name, const std::string& label) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, name)) continue;
    absl::string_view rest = line.substr(name.size());
    if (!rest.empty() && rest[0] != '{' && rest[0] != ' ') continue;  // a longer name
    if (!label.empty() && !absl::StrContains(rest, label)) continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space != absl::string_view::npos && absl::SimpleAtod(line.substr(space + 1), &value)) {
      sum += value;
    }
  }
  return sum;
}

absl::StatusOr<std::string> MetricsText(int http_port) { return Cluster::Metrics(http_port); }

}  // namespace baton::testing
