// WorkerService (proto/baton/internal/v1/worker.proto) for both workers: GetLoad answers with
// the provider's current report, WatchLoad streams one at least every interval_millis (and
// sooner when the running/waiting counts or free blocks change).
//
// Threading: a gRPC sync-API service; each call runs on a gRPC thread. `provider` is called from
// those threads concurrently and must be thread-safe and non-blocking. Stop() ends every
// WatchLoad stream (call it before shutting the server down).
#pragma once

#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "proto/baton/internal/v1/worker.grpc.pb.h"

namespace baton::serving {

using LoadProvider = std::function<baton::internal::v1::WorkerLoad()>;

class WorkerLoadService final : public baton::internal::v1::WorkerService::Service {
 public:
  explicit WorkerLoadService(LoadProvider provider) : provider_(std::move(provider)) {}

  grpc::Status GetLoad(grpc::ServerContext* context,
                       const baton::internal::v1::GetLoadRequest* request,
                       baton::internal::v1::WorkerLoad* response) override;
  grpc::Status WatchLoad(grpc::ServerContext* context,
                         const baton::internal::v1::WatchLoadRequest* request,
                         grpc::ServerWriter<baton::internal::v1::WorkerLoad>* writer) override;

  void Stop() { stopped_.Notify(); }

 private:
  LoadProvider provider_;
  absl::Notification stopped_;
};

}  // namespace baton::serving
