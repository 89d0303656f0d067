// The decode worker's object graph: model, engine, KV pool, KV receiver, scheduler, the
// DecodeService and WorkerService, and the gRPC and HTTP listeners. main.cc only fills the
// Options from flags, creates the worker and waits for SIGTERM.
//
// Threading: Create and Shutdown from one thread; everything else is served by the gRPC and HTTP
// threads and the scheduler thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "decode_worker/decode_metrics.h"
#include "decode_worker/decode_scheduler.h"
#include "decode_worker/decode_service.h"
#include "engine/runtime/engine.h"
#include "kvtransfer/kv_transport.h"
#include "proto/baton/internal/v1/worker.pb.h"
#include "serving/endpoints.h"
#include "serving/engine_setup.h"
#include "serving/transport.h"
#include "serving/worker_load_service.h"

namespace baton::decode_worker {

struct DecodeWorkerOptions {
  // Model, threads and the paged KV pool.
  serving::EngineSetup engine;
  serving::EndpointOptions endpoints;
  // end_of_generation_ids and prefix_hash_seed are taken from the model.
  DecodeSchedulerOptions scheduler;
  serving::TransportOptions transport;
  // Most Decode streams open at once (each holds a gRPC thread); more get RESOURCE_EXHAUSTED.
  int32_t max_streams = 1024;
  // On Shutdown: how long in-flight requests may run before they are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
};

class DecodeWorker {
 public:
  // Loads the model and starts serving. Errors from the model loader and the model's tokenizer
  // metadata (its end-of-generation tokens), kInvalidArgument for bad options, the transport's
  // errors, kUnavailable when a port cannot be bound.
  static absl::StatusOr<std::unique_ptr<DecodeWorker>> Create(const DecodeWorkerOptions& options);
  ~DecodeWorker() { Shutdown(); }

  int grpc_port() const { return endpoints_->grpc_port(); }
  int http_port() const { return endpoints_->http_port(); }
  baton::internal::v1::WorkerLoad Load() const;

  // Stops taking requests (load reports say draining, health NOT_SERVING, new Decode calls fail
  // with UNAVAILABLE), lets in-flight ones finish for up to shutdown_grace, cancels the rest,
  // then stops listening. Idempotent.
  void Shutdown();

 private:
  explicit DecodeWorker(const DecodeWorkerOptions& options) : options_(options) {}

  DecodeWorkerOptions options_;
  std::unique_ptr<kvtransfer::KvTransport> transport_;
  serving::LoadedEngine loaded_;
  std::unique_ptr<kvtransfer::KvReceiver> receiver_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<DecodeMetrics> metrics_;
  std::unique_ptr<DecodeScheduler> scheduler_;
  std::unique_ptr<DecodeServiceImpl> decode_service_;
  std::unique_ptr<serving::WorkerLoadService> load_service_;
  std::unique_ptr<serving::Endpoints> endpoints_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace baton::decode_worker
