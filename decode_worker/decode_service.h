// DecodeService (proto/baton/internal/v1/decode.proto) over a DecodeScheduler.
//
// gRPC sync API on purpose: each Decode stream occupies one gRPC thread, which only validates,
// posts to the scheduler and then relays the scheduler's events (waiting on the request's event
// queue, polling for cancellation every few milliseconds). The scheduler thread never waits for
// a stream, and a slow client only holds its own thread. gRPC grows the sync thread pool with
// the number of open streams, which the router bounds.
//
// Threading: handlers run concurrently on gRPC threads; the service itself is stateless beyond
// the scheduler (thread-safe) it is given.
#pragma once

#include "decode_worker/decode_scheduler.h"
#include "engine/model/model_config.h"
#include "proto/baton/internal/v1/decode.grpc.pb.h"
#include "serving/call_wait.h"

namespace baton::decode_worker {

class DecodeServiceImpl final : public baton::internal::v1::DecodeService::Service {
 public:
  // `scheduler` must outlive the service. At most `max_streams` Decode calls are served at once
  // (more get RESOURCE_EXHAUSTED), which bounds the gRPC threads they hold.
  DecodeServiceImpl(DecodeScheduler* scheduler, const engine::ModelConfig& config, int max_streams)
      : scheduler_(scheduler), config_(config), limiter_(max_streams) {}

  // Errors: INVALID_ARGUMENT (prompt or sampling), RESOURCE_EXHAUSTED (no blocks now),
  // UNAVAILABLE (KV never arrived, or shutting down), CANCELLED (client went away).
  grpc::Status Decode(grpc::ServerContext* context,
                      const baton::internal::v1::DecodeRequest* request,
                      grpc::ServerWriter<baton::internal::v1::DecodeResponse>* writer) override;

  // Errors: INVALID_ARGUMENT (malformed transfer id), NOT_FOUND (no reservation waits for that
  // transfer's KV), UNAVAILABLE (the scheduler did not answer: shutting down). Waits for one
  // scheduler step at most; not counted against max_streams.
  grpc::Status RenewLease(grpc::ServerContext* context,
                          const baton::internal::v1::RenewLeaseRequest* request,
                          baton::internal::v1::RenewLeaseResponse* response) override;

 private:
  DecodeScheduler* const scheduler_;
  const engine::ModelConfig config_;
  serving::CallLimiter limiter_;
};

}  // namespace baton::decode_worker
