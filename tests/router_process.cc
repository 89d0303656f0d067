#include "tests/router_process.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/testing/http_client.h"
#include "grpcpp/grpcpp.h"
#include "proto/baton/v1/inference.grpc.pb.h"

namespace baton::testing {

namespace {

namespace internal_v1 = ::baton::internal::v1;

std::string Loopback(int port) { return absl::StrCat("127.0.0.1:", port); }

// A prefill worker is idle when nothing runs or waits there and its scratch pool is all free
// again (an aborted prefill must give its blocks back).
bool PrefillIdle(const internal_v1::WorkerLoad& load) {
  return load.running_sequences() == 0 && load.waiting_sequences() == 0 &&
         load.free_kv_blocks() == load.total_kv_blocks();
}

}  // namespace

absl::StatusOr<std::unique_ptr<RouterCluster>> RouterCluster::Start(
    const RouterClusterOptions& options) {
  auto cluster = std::unique_ptr<RouterCluster>(new RouterCluster());
  absl::StatusOr<std::unique_ptr<Cluster>> workers = Cluster::Start(options.workers);
  if (!workers.ok()) return workers.status();
  cluster->workers_ = *std::move(workers);
  cluster->num_prefill_ = options.workers.num_prefill;

  std::vector<std::string> prefill;
  for (int i = 0; i < options.workers.num_prefill; ++i) {
    prefill.push_back(Loopback(cluster->workers_->prefill(i).grpc_port()));
  }
  std::vector<std::string> args = {
      absl::StrCat("--model=", options.workers.model_path),
      absl::StrCat("--decode=", Loopback(cluster->workers_->decode().grpc_port())),
      absl::StrCat("--prefill=", absl::StrJoin(prefill, ",")),
      "--grpc_port=0",
      "--http_port=0",
      "--shutdown_grace_ms=1000"};
  if (!options.api_keys.empty()) {
    const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/api_keys.txt");
    std::ofstream(path) << absl::StrJoin(options.api_keys, "\n") << "\n";
    args.push_back(absl::StrCat("--api_keys_file=", path));
    cluster->api_key_ = options.api_keys.front();
  }
  args.insert(args.end(), options.router_flags.begin(), options.router_flags.end());
  absl::StatusOr<std::unique_ptr<WorkerProcess>> router =
      WorkerProcess::Start(RunfilePath("router/router"), args, {});
  if (!router.ok()) return router.status();
  cluster->router_ = *std::move(router);
  return cluster;
}

std::string RouterCluster::http_base() const {
  return absl::StrCat("http://", Loopback(http_port()));
}

absl::Status RouterCluster::WaitWorkersIdle(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (absl::Status decode = workers_->WaitDecodeIdle(timeout); !decode.ok()) return decode;
  for (int i = 0; i < num_prefill_; ++i) {
    while (true) {
      absl::StatusOr<internal_v1::WorkerLoad> load =
          Cluster::GetLoad(workers_->prefill(i).grpc_port());
      if (!load.ok()) return load.status();
      if (PrefillIdle(*load)) break;
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("prefill worker ", i, " not idle: ", load->ShortDebugString()));
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<baton::v1::Inference::Stub> RouterCluster::Stub() const {
  return baton::v1::Inference::NewStub(
      grpc::CreateChannel(Loopback(grpc_port()), grpc::InsecureChannelCredentials()));
}

void RouterCluster::Prepare(grpc::ClientContext& context) const {
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  if (!api_key_.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", api_key_));
}

absl::StatusOr<baton::v1::TokenizeResponse> RouterCluster::Tokenize(
    const baton::v1::TokenizeRequest& request) const {
  grpc::ClientContext context;
  Prepare(context);
  baton::v1::TokenizeResponse response;
  grpc::Status status = Stub()->Tokenize(&context, request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status);
  return response;
}

absl::StatusOr<baton::v1::TokenizeResponse> RouterCluster::Tokenize(const std::string& text,
                                                                    bool add_special) const {
  baton::v1::TokenizeRequest request;
  request.set_text(text);
  request.set_add_special(add_special);
  return Tokenize(request);
}

absl::StatusOr<baton::v1::ListModelsResponse> RouterCluster::ListModels() const {
  grpc::ClientContext context;
  Prepare(context);
  baton::v1::ListModelsResponse response;
  grpc::Status status = Stub()->ListModels(&context, baton::v1::ListModelsRequest(), &response);
  if (!status.ok()) return common::FromGrpcStatus(status);
  return response;
}

absl::StatusOr<std::string> RouterCluster::HttpText(const std::string& path) const {
  absl::StatusOr<HttpResult> result = HttpCall(http_port(), "GET", path);
  if (!result.ok()) return result.status();
  if (result->status != 200) {
    return absl::InternalError(absl::StrCat("GET ", path, ": HTTP ", result->status));
  }
  return result->body;
}

}  // namespace baton::testing
