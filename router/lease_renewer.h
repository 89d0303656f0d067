// Keeps a decode worker's lease on one reservation (a KvTarget) alive while the router's prefill
// for it is in progress, by calling DecodeService.RenewLease every third of the lease.
//
// Why the router renews: the lease exists so that blocks reserved for KV that will never come go
// back to the pool. Counting it from the reservation also failed prompts that merely waited in a
// busy prefill worker's queue, turning overload into lost requests. The router is the one party
// that knows the request is still genuinely in progress: its client is connected, and its Prefill
// call is open on a prefill worker that is alive (a dead one fails the call). So it renews while
// that call (or a retry on another prefill worker with the same KvTarget) runs, and stops when
// the prefill ends, fails for good or is cancelled. The lease then bounds a silent stall (router
// gone, renewals lost) instead of queueing time; a prefill worker that hangs with the call open
// is bounded by the router's per-attempt timeout.
//
// Renewals pace on real time (a network heartbeat); whether the lease is still held, which
// decides whether a failed prefill may be retried, is counted on the injectable MonotonicClock.
//
// Threading: the constructor starts one thread that renews until Stop (or destruction); Held and
// Stop are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/baton/internal/v1/decode.grpc.pb.h"
#include "serving/monotonic_clock.h"

namespace baton::router {

class LeaseRenewer {
 public:
  // Renews transfer `transfer_id` on `decode` (which, like `clock`, must outlive the renewer),
  // whose lease ends at `lease_deadline_unix_micros` (the KvTarget's, read against absl::Now()
  // once, here). Zero: the decode worker named no lease; nothing is renewed and Held stays true.
  // Renewing stops for good when the decode worker answers NOT_FOUND (the reservation is over),
  // UNIMPLEMENTED (a worker without renewals: its lease then runs from the reservation) or
  // INVALID_ARGUMENT; other failures (UNAVAILABLE, DEADLINE_EXCEEDED) are retried at the next
  // tick while the lease lasts.
  LeaseRenewer(baton::internal::v1::DecodeService::Stub& decode, std::string transfer_id,
               int64_t lease_deadline_unix_micros, const serving::MonotonicClock* clock);
  // Stop().
  ~LeaseRenewer();
  LeaseRenewer(const LeaseRenewer&) = delete;
  LeaseRenewer& operator=(const LeaseRenewer&) = delete;

  // Whether the lease is still held: the end of the last successful renewal (or the original
  // lease) has not passed on the clock.
  bool Held() const;
  // Successful renewals so far.
  int32_t renewals() const;
  // Stops renewing (cancelling a renewal in flight) and joins the thread. Idempotent.
  void Stop();

 private:
  void Run();

  baton::internal::v1::DecodeService::Stub& decode_;
  const std::string transfer_id_;
  const serving::MonotonicClock* const clock_;
  mutable absl::Mutex mu_;
  // On clock_.
  absl::Duration lease_end_ ABSL_GUARDED_BY(mu_);
  absl::Duration lease_ ABSL_GUARDED_BY(mu_);
  int32_t renewals_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace baton::router
