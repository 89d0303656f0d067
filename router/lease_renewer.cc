#include "router/lease_renewer.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace baton::router {

namespace v1 = ::baton::internal::v1;

namespace {

// Renewals per lease: two may be lost (or slow) before the lease ends.
constexpr int kRenewalsPerLease = 3;

}  // namespace

LeaseRenewer::LeaseRenewer(v1::DecodeService::Stub& decode, std::string transfer_id,
                           int64_t lease_deadline_unix_micros,
                           const serving::MonotonicClock* clock)
    : decode_(decode), transfer_id_(std::move(transfer_id)), clock_(clock) {
  absl::MutexLock lock(&mu_);
  if (lease_deadline_unix_micros == 0) {
    lease_end_ = absl::InfiniteDuration();
    lease_ = absl::InfiniteDuration();
    return;
  }
  // The lease is wall-clock time on the wire: read against the wall clock once, as it arrives,
  // then counted down on the monotonic clock (a wall-clock step cannot stretch it; tests move it).
  lease_ = absl::FromUnixMicros(lease_deadline_unix_micros) - absl::Now();
  lease_end_ = clock_->Now() + lease_;
  thread_ = std::thread([this] { Run(); });
}

LeaseRenewer::~LeaseRenewer() { Stop(); }

bool LeaseRenewer::Held() const {
  absl::MutexLock lock(&mu_);
  return clock_->Now() < lease_end_;
}

int32_t LeaseRenewer::renewals() const {
  absl::MutexLock lock(&mu_);
  return renewals_;
}

void LeaseRenewer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    if (current_ != nullptr) current_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void LeaseRenewer::Run() {
  v1::RenewLeaseRequest request;
  request.set_transfer_id(transfer_id_);
  while (true) {
    grpc::ClientContext context;
    absl::Duration lease;
    {
      absl::MutexLock lock(&mu_);
      lease = lease_;
      const absl::Condition stopped(&stopped_);
      // A lease that is already over (or never was) gets one immediate try.
      mu_.AwaitWithTimeout(stopped, std::max(lease / kRenewalsPerLease, absl::ZeroDuration()));
      if (stopped_) return;
      current_ = &context;
    }
    // A renewal that takes longer than the lease could not have kept it.
    context.set_deadline(absl::ToChronoTime(absl::Now() + std::max(lease, absl::Seconds(1))));
    const absl::Duration sent = clock_->Now();
    v1::RenewLeaseResponse response;
    const grpc::Status status = decode_.RenewLease(&context, request, &response);
    absl::MutexLock lock(&mu_);
    current_ = nullptr;
    if (status.ok()) {
      // Counted even when Stop came while the answer was on its way: the decode worker did
      // extend the lease (and counted the renewal) before Stop could cancel the call.
      ++renewals_;
      lease_ = absl::Milliseconds(response.lease_millis());
      // Counted from before the call: the decode worker's lease ends no earlier than this.
      lease_end_ = sent + lease_;
    }
    if (stopped_) return;
    if (status.ok()) continue;
    switch (status.error_code()) {
      case grpc::StatusCode::NOT_FOUND:
      case grpc::StatusCode::UNIMPLEMENTED:
      case grpc::StatusCode::INVALID_ARGUMENT:
        return;
      default:
        if (clock_->Now() >= lease_end_) return;  // too late: D has let the blocks go
    }
  }
}

}  // namespace baton::router
