// Test support for the fleet tests: several prefill and decode workers as real processes on
// loopback (KV over UCX tcp on lo) and one or more real //router:router processes in front of all
// of them, plus the checks the fleet tests share: generation through a router's public gRPC API
// with token ids in and out, worker and router metrics by name, kill -9 and restart of a worker
// on its own port, and the leak check (every live worker's pool all free or cached-evictable).
//
// Threading: a FleetCluster is driven by the test thread; Generate and the metric readers may be
// called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/baton/internal/v1/worker.pb.h"
#include "proto/baton/v1/inference.pb.h"
#include "tests/worker_process.h"

namespace baton::testing {

struct FleetClusterOptions {
  std::string model_path;
  int num_prefill = 2;
  int num_decode = 2;
  int num_routers = 1;
  std::vector<std::string> prefill_flags;
  std::vector<std::string> decode_flags;
  std::vector<std::string> router_flags;
};

struct StreamResult {
  std::vector<int32_t> tokens;
  baton::v1::FinishReason finish_reason = baton::v1::FINISH_REASON_UNSPECIFIED;
};

class FleetCluster {
 public:
  // Starts the workers, then the routers (each waits for every worker to join its pool).
  static absl::StatusOr<std::unique_ptr<FleetCluster>> Start(const FleetClusterOptions& options);

  WorkerProcess& prefill(int i) { return *prefill_[i]; }
  WorkerProcess& decode(int i) { return *decode_[i]; }
  WorkerProcess& router(int i = 0) { return *routers_[i]; }
  // "127.0.0.1:<grpc port>" of a worker, as the routers name it.
  static std::string Address(const WorkerProcess& worker);

  // SIGKILLs a worker and reaps it. A killed worker is skipped by WaitWorkersIdle.
  void KillPrefill(int i);
  void KillDecode(int i);
  // Waits for decode worker `i` to exit on its own (after SIGTERM) and forgets it; its exit code.
  absl::StatusOr<int> WaitDecodeExit(int i, absl::Duration timeout);
  // Starts decode worker `i` again on the gRPC port it had.
  absl::Status RestartDecode(int i);

  // A greedy generation of `max_tokens` (EOS ignored) from `prompt` through router `r`'s
  // Inference.Generate; `on_tokens` (optional) sees the token count so far after each chunk.
  absl::StatusOr<StreamResult> Generate(int r, const std::vector<int32_t>& prompt,
                                        int32_t max_tokens,
                                        const std::function<void(size_t)>& on_tokens = nullptr,
                                        absl::Duration timeout = absl::Seconds(120)) const;

  // Waits until every live worker's pool is all free (cached blocks count as free: they are
  // evictable) with nothing running, waiting or pending, or `timeout` passes
  // (kDeadlineExceeded naming the worker and its last report): the leak check after each test.
  absl::Status WaitWorkersIdle(absl::Duration timeout = absl::Seconds(30));

 private:
  FleetCluster() = default;
  absl::StatusOr<std::unique_ptr<WorkerProcess>> StartWorker(const std::string& binary,
                                                             std::vector<std::string> args);

  FleetClusterOptions options_;
  std::vector<std::unique_ptr<WorkerProcess>> prefill_;
  std::vector<std::unique_ptr<WorkerProcess>> decode_;
  std::vector<int> decode_ports_;
  std::vector<std::unique_ptr<WorkerProcess>> routers_;
};

// Greedy streams through router 0, one thread each, for tests that act while they run.
class ConcurrentStreams {
 public:
  // Starts one stream per prompt; `cluster` must outlive this object.
  ConcurrentStreams(const FleetCluster* cluster, std::vector<std::vector<int32_t>> prompts,
                    int32_t max_tokens);
  // Joins the streams.
  ~ConcurrentStreams();
  // Waits until every stream has at least `tokens` tokens (or ended); false after `timeout`.
  bool WaitAllStreamed(size_t tokens, absl::Duration timeout);
  // Joins the streams and returns each one's result, in prompt order.
  std::vector<absl::StatusOr<StreamResult>> Join();

 private:
  absl::Mutex mu_;
  std::vector<size_t> progress_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::StatusOr<StreamResult>> results_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

// ../shared's stories260K model (its context is 512 tokens), or nullopt when ../shared is absent
// (the test then skips). The fleet tests need a model whose generations are valid UTF-8: the
// router streams text beside the ids, and a random model's byte tokens are not.
std::optional<std::string> StoriesModel();
// A prompt of `length` ids of stories260K's word pieces (no byte tokens), distinct per seed.
std::vector<int32_t> WordPrompt(int32_t length, int32_t seed);

// A random q4_0 model (//engine/tools:make_model, the tiny shape's sizes) with a 2048-token
// context, written into TEST_TMPDIR: for tests that need long prompts or streams.
absl::StatusOr<std::string> MakeLongContextModel(int seed);

// Whether a worker's pool is all free (cached blocks count as free: they are evictable) with
// nothing running, waiting or pending.
bool PoolIdle(const baton::internal::v1::WorkerLoad& load);

// Follows `worker`'s WorkerService.WatchLoad stream (reports come within 20 ms of a change) until
// a report satisfies `done`, and returns it; kDeadlineExceeded with the last report after
// `timeout`, or the stream's error.
absl::StatusOr<baton::internal::v1::WorkerLoad> WaitForLoad(
    const WorkerProcess& worker,
    const std::function<bool(const baton::internal::v1::WorkerLoad&)>& done,
    absl::Duration timeout);

// The sum of every sample of metric `name` (any labels) in Prometheus text `text` whose label
// set contains `label` (e.g. "worker=\"127.0.0.1:5\""; empty: any); 0 when there is none.
double MetricSum(const std::string& text, const std::string& name, const std::string& label = "");
// GET /metrics of the process listening on `http_port` (kInternal for a status other than 200).
absl::StatusOr<std::string> MetricsText(int http_port);

}  // namespace baton::testing
