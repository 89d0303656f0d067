// PrefillService (proto/baton/internal/v1/prefill.proto) over a PrefillScheduler.
//
// gRPC sync API, as in the decode worker: a call's thread validates, posts the job and waits on
// the job's result queue, checking for cancellation every few milliseconds (a cancelled call
// drops the queued request or cancels its transfer). The scheduler thread never waits for a call.
//
// Threading: handlers run concurrently on gRPC threads; the scheduler is thread-safe.
#pragma once

#include "engine/kv_cache/kv_layout.h"
#include "engine/model/model_config.h"
#include "prefill_worker/prefill_scheduler.h"
#include "proto/baton/internal/v1/prefill.grpc.pb.h"
#include "serving/call_wait.h"

namespace baton::prefill_worker {

class PrefillServiceImpl final : public baton::internal::v1::PrefillService::Service {
 public:
  // `scheduler` must outlive the service; `layout` is the scratch pool's layout. At most
  // `max_calls` Prefill calls are served at once (more get RESOURCE_EXHAUSTED), which bounds the
  // gRPC threads they hold.
  PrefillServiceImpl(PrefillScheduler* scheduler, const engine::ModelConfig& config,
                     const engine::KvLayout& layout, int max_calls)
      : scheduler_(scheduler), config_(config), layout_(layout), limiter_(max_calls) {}

  // Errors: INVALID_ARGUMENT (prompt, sampling or target), FAILED_PRECONDITION (layouts
  // differ), RESOURCE_EXHAUSTED, UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, CANCELLED.
  grpc::Status Prefill(grpc::ServerContext* context,
                       const baton::internal::v1::PrefillRequest* request,
                       baton::internal::v1::PrefillResponse* response) override;

 private:
  PrefillScheduler* const scheduler_;
  const engine::ModelConfig config_;
  const engine::KvLayout layout_;
  serving::CallLimiter limiter_;
};

}  // namespace baton::prefill_worker
