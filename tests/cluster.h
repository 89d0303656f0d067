// Test support: one decode worker and any number of prefill workers as real processes on
// loopback, KV over UCX (tcp on lo), plus the router's DisaggClient pointed at them, and helpers
// for the single-process reference (//engine/tools:generate) and random models
// (//engine/tools:make_model). Binaries come from the test's runfiles (data deps).
//
// Threading: a Cluster is driven by the test thread; its DisaggClient is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/baton/internal/v1/worker.pb.h"
#include "router/disagg_client.h"
#include "tests/worker_process.h"

namespace baton::testing {

struct ClusterOptions {
  std::string model_path;
  std::vector<std::string> decode_flags;
  std::vector<std::string> prefill_flags;
  // Prefill workers to start (0: colocated only). The client fails over between them.
  int num_prefill = 1;
  // UCX settings for the workers' environment; empty: UcxEnvironment() (tcp on lo).
  std::vector<std::string> ucx_env;
};

class Cluster {
 public:
  // Starts the workers (decode first) and waits until both print READY.
  static absl::StatusOr<std::unique_ptr<Cluster>> Start(const ClusterOptions& options);

  router::DisaggClient& client() { return *client_; }
  WorkerProcess& decode() { return *decode_; }
  WorkerProcess& prefill(int i = 0) { return *prefill_[i]; }
  // Kills prefill worker `i` (SIGKILL) and reaps it.
  void KillPrefill(int i = 0);

  // WorkerService.GetLoad of the worker listening on `grpc_port`.
  static absl::StatusOr<baton::internal::v1::WorkerLoad> GetLoad(int grpc_port);
  // Polls the decode worker until its pool is all free with nothing running, waiting or
  // pending (the leak check), or `timeout` passes (then kDeadlineExceeded with the last load).
  absl::Status WaitDecodeIdle(absl::Duration timeout = absl::Seconds(10));
  // GET /metrics of a worker.
  static absl::StatusOr<std::string> Metrics(int http_port);
  // The value of the sample `sample` (its name and labels exactly as exposed, e.g.
  // `x_bucket{le="2.5"}`) in a Prometheus text exposition, or -1 when it is absent.
  static double MetricValue(const std::string& exposition, const std::string& sample);

 private:
  Cluster() = default;

  std::unique_ptr<WorkerProcess> decode_;
  std::vector<std::unique_ptr<WorkerProcess>> prefill_;
  std::unique_ptr<router::DisaggClient> client_;
};

// Default UCX settings of spawned workers: tcp on the loopback device.
std::vector<std::string> UcxEnvironment();

// A greedy request that ignores EOS (outputs are compared token for token).
router::DisaggRequest GreedyRequest(std::vector<int32_t> prompt, int32_t max_tokens,
                                    bool local_prefill = false);

// Tokens of `//engine/tools:generate --model=... --prompt_tokens=... --temperature=0
// --kv_type=f32` (no early stop).
absl::StatusOr<std::vector<int32_t>> GenerateReference(const std::string& model_path,
                                                       const std::vector<int32_t>& prompt,
                                                       int32_t max_tokens);

// Writes a tiny random model of `type` (e.g. "q4_0") with //engine/tools:make_model into
// TEST_TMPDIR and returns its path.
absl::StatusOr<std::string> MakeRandomModel(const std::string& type, int seed);

// Deterministic prompt of `length` ids in [3, 3 + vocab_span).
std::vector<int32_t> SyntheticPrompt(int32_t length, int32_t seed, int32_t vocab_span = 500);

}  // namespace baton::testing
