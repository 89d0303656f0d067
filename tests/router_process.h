// Test support for end-to-end tests of the router: a Cluster of real workers (decode + prefill,
// KV over UCX tcp on lo) plus the real //router:router process in front of them, with the
// router's ports and the checks every router test needs (leaks on both kinds of worker, the
// router's own tokenization through its public gRPC API).
//
// Threading: a RouterCluster is driven by the test thread; its accessors may be read from any
// thread once Start returned.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/baton/v1/inference.grpc.pb.h"
#include "tests/cluster.h"
#include "tests/worker_process.h"

namespace baton::testing {

struct RouterClusterOptions {
  // The workers; `workers.model_path` is also the router's --model.
  ClusterOptions workers;
  // Extra router flags (e.g. "--max_running=2"); ports, --model, --decode and --prefill are set.
  std::vector<std::string> router_flags;
  // When non-empty, written to a file in TEST_TMPDIR that the router reads as --api_keys_file.
  std::vector<std::string> api_keys;
};

class RouterCluster {
 public:
  // Starts the workers, then the router pointed at them, and waits for the router's READY line.
  static absl::StatusOr<std::unique_ptr<RouterCluster>> Start(const RouterClusterOptions& options);

  Cluster& workers() { return *workers_; }
  WorkerProcess& router() { return *router_; }
  int grpc_port() const { return router_->grpc_port(); }
  int http_port() const { return router_->http_port(); }
  // "http://127.0.0.1:<http_port>", what HTTP clients take as their host.
  std::string http_base() const;
  // The first of RouterClusterOptions::api_keys; empty when the router needs none.
  const std::string& api_key() const { return api_key_; }

  // Polls until the decode worker's pool is all free with nothing running or pending, and no
  // prefill worker runs or queues anything with a scratch block taken (the leak check after
  // failures), or `timeout` passes: kDeadlineExceeded naming the busy worker's load.
  absl::Status WaitWorkersIdle(absl::Duration timeout = absl::Seconds(10));

  // The router's Inference.Tokenize and ListModels, through its gRPC port (with the first API
  // key, if any). Errors are the call's status.
  absl::StatusOr<baton::v1::TokenizeResponse> Tokenize(
      const baton::v1::TokenizeRequest& request) const;
  absl::StatusOr<baton::v1::TokenizeResponse> Tokenize(const std::string& text,
                                                       bool add_special) const;
  absl::StatusOr<baton::v1::ListModelsResponse> ListModels() const;
  // The router's /metrics-style text at `path` (e.g. "/metrics") of its HTTP port; kInternal
  // for a status other than 200.
  absl::StatusOr<std::string> HttpText(const std::string& path) const;

 private:
  RouterCluster() = default;
  std::unique_ptr<baton::v1::Inference::Stub> Stub() const;
  // A deadline and, when the router has keys, the first one.
  void Prepare(grpc::ClientContext& context) const;

  std::unique_ptr<Cluster> workers_;
  std::unique_ptr<WorkerProcess> router_;
  int num_prefill_ = 0;
  std::string api_key_;
};

}  // namespace baton::testing
