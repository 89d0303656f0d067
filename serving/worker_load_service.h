// WorkerService (proto/baton/internal/v1/worker.proto) for both workers: GetLoad answers with
// the provider's current report, WatchLoad streams one at least every interval_millis (and
// sooner when the running/waiting counts, free or cached blocks, draining or the prefix cache
// change). Reports carry the pool's prefix cache (PrefixCacheEvents): every GetLoad answer and
// the first message of each WatchLoad stream is a snapshot of every cached block name, later
// messages the names stored and removed since the stream's previous message (a new snapshot when
// the pool's journal no longer reaches back that far). On Stop every stream sends one last report
// (a draining worker's says so) and ends.
//
// Threading: a gRPC sync-API service; each call runs on a gRPC thread. `provider` is called from
// those threads concurrently and must be thread-safe and non-blocking. Stop() ends every
// WatchLoad stream (call it before shutting the server down).
#pragma once

#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "engine/kv_cache/kv_pool.h"
#include "proto/baton/internal/v1/worker.grpc.pb.h"

namespace baton::serving {

using LoadProvider = std::function<baton::internal::v1::WorkerLoad()>;

class WorkerLoadService final : public baton::internal::v1::WorkerService::Service {
 public:
  // `pool` (may be null: no prefix cache events) must outlive the service.
  explicit WorkerLoadService(LoadProvider provider, const engine::KvPool* pool = nullptr)
      : provider_(std::move(provider)), pool_(pool) {}

  grpc::Status GetLoad(grpc::ServerContext* context,
                       const baton::internal::v1::GetLoadRequest* request,
                       baton::internal::v1::WorkerLoad* response) override;
  grpc::Status WatchLoad(grpc::ServerContext* context,
                         const baton::internal::v1::WatchLoadRequest* request,
                         grpc::ServerWriter<baton::internal::v1::WorkerLoad>* writer) override;

  void Stop() { stopped_.Notify(); }

 private:
  // The provider's report, with cached_kv_blocks read from the pool.
  baton::internal::v1::WorkerLoad Report() const;

  LoadProvider provider_;
  const engine::KvPool* const pool_;
  absl::Notification stopped_;
};

}  // namespace baton::serving
