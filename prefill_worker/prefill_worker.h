// The prefill worker's object graph: model, engine, scratch KV pool, KV transport, scheduler,
// PrefillService and WorkerService, and the gRPC and HTTP listeners. main.cc only fills the
// Options from flags, creates the worker and waits for SIGTERM.
//
// Threading: Create and Shutdown from one thread; requests are served by gRPC threads and the
// scheduler thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/runtime/engine.h"
#include "kvtransfer/kv_transport.h"
#include "prefill_worker/prefill_metrics.h"
#include "prefill_worker/prefill_scheduler.h"
#include "prefill_worker/prefill_service.h"
#include "proto/baton/internal/v1/worker.pb.h"
#include "serving/endpoints.h"
#include "serving/engine_setup.h"
#include "serving/transport.h"
#include "serving/worker_load_service.h"

namespace baton::prefill_worker {

struct PrefillWorkerOptions {
  // Model, threads and the scratch KV pool prompts are computed in (its layout must equal the
  // decode workers').
  serving::EngineSetup engine;
  serving::EndpointOptions endpoints;
  PrefillSchedulerOptions scheduler;  // prefix_hash_seed is taken from the model
  serving::TransportOptions transport;
  // Most Prefill calls open at once (each holds a gRPC thread); more get RESOURCE_EXHAUSTED.
  int32_t max_calls = 1024;
  // On Shutdown: how long queued and running prompts may run before they are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
};

class PrefillWorker {
 public:
  // Loads the model and starts serving. Errors from the model loader, kInvalidArgument for bad
  // options, the transport's errors, kUnavailable when a port cannot be bound.
  static absl::StatusOr<std::unique_ptr<PrefillWorker>> Create(const PrefillWorkerOptions& options);
  ~PrefillWorker() { Shutdown(); }

  int grpc_port() const { return endpoints_->grpc_port(); }
  int http_port() const { return endpoints_->http_port(); }
  baton::internal::v1::WorkerLoad Load() const;

  // Load reports say draining, health NOT_SERVING, new calls fail with UNAVAILABLE,
  // queued/running prompts get up to shutdown_grace, the rest are cancelled; then the listeners
  // stop. Idempotent.
  void Shutdown();

 private:
  explicit PrefillWorker(const PrefillWorkerOptions& options) : options_(options) {}

  PrefillWorkerOptions options_;
  std::unique_ptr<kvtransfer::KvTransport> transport_;
  serving::LoadedEngine loaded_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<PrefillMetrics> metrics_;
  std::unique_ptr<PrefillScheduler> scheduler_;
  std::unique_ptr<PrefillServiceImpl> prefill_service_;
  std::unique_ptr<serving::WorkerLoadService> load_service_;
  std::unique_ptr<serving::Endpoints> endpoints_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace baton::prefill_worker
