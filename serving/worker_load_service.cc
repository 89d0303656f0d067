#include "serving/worker_load_service.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace baton::serving {

namespace v1 = ::baton::internal::v1;

namespace {

// Polling period for changes between the guaranteed reports.
constexpr absl::Duration kPollPeriod = absl::Milliseconds(20);

bool Changed(const v1::WorkerLoad& a, const v1::WorkerLoad& b) {
  return a.running_sequences() != b.running_sequences() ||
         a.waiting_sequences() != b.waiting_sequences() ||
         a.free_kv_blocks() != b.free_kv_blocks() || a.pending_transfers() != b.pending_transfers();
}

}  // namespace

grpc::Status WorkerLoadService::GetLoad(grpc::ServerContext*, const v1::GetLoadRequest*,
                                        v1::WorkerLoad* response) {
  *response = provider_();
  return grpc::Status::OK;
}

grpc::Status WorkerLoadService::WatchLoad(grpc::ServerContext* context,
                                          const v1::WatchLoadRequest* request,
                                          grpc::ServerWriter<v1::WorkerLoad>* writer) {
  const absl::Duration interval = request->interval_millis() > 0
                                      ? absl::Milliseconds(request->interval_millis())
                                      : absl::Seconds(1);
  v1::WorkerLoad last = provider_();
  if (!writer->Write(last)) return grpc::Status::OK;
  absl::Time last_sent = absl::Now();
  while (!context->IsCancelled() &&
         !stopped_.WaitForNotificationWithTimeout(std::min(kPollPeriod, interval))) {
    v1::WorkerLoad now = provider_();
    if (!Changed(now, last) && absl::Now() - last_sent < interval) continue;
    if (!writer->Write(now)) break;
    last = std::move(now);
    last_sent = absl::Now();
  }
  return grpc::Status::OK;
}

}  // namespace baton::serving
