// The router's view of its workers: every address of the --prefill and --decode lists (DNS
// entries re-resolved every resolve_interval), each watched through WorkerService.WatchLoad (the
// latest WorkerLoad, and the worker's cached block hashes from its PrefixCacheEvents) and
// grpc.health.v1. A worker is in the pool while its WatchLoad stream is up, its last health check
// said SERVING and its load does not say draining; otherwise it leaves at once and is retried
// with exponential backoff until it comes back. Nothing is shared between routers: each router's
// pool watches the workers itself.
//
// Time: every due time (backoff, re-resolution, health checks) is read from the injected
// monotonic clock,
// and Maintain() does what is due. Production calls it from StartMaintenance's thread; tests
// advance a fake clock and call Maintain() themselves.
//
// Threading: thread-safe. Each worker has one watcher thread (blocked in its WatchLoad stream or
// waiting for its next attempt); Maintain runs health checks and DNS look-ups on its caller's
// thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "grpcpp/grpcpp.h"
#include "proto/baton/internal/v1/worker.grpc.pb.h"
#include "serving/monotonic_clock.h"
#include "router/worker_addresses.h"
#include "router/worker_view.h"

namespace baton::router {

// Makes the channel to a worker's gRPC address: the one place that decides how the router talks
// to workers (credentials).
using ChannelFactory = std::function<std::shared_ptr<grpc::Channel>(const std::string& address)>;

// Channel arguments for worker channels: reconnect backoff of 100 ms up to 1 s (gRPC's default
// starts at 1 s and grows to 2 minutes, which would keep a restarted worker out of the pool long
// after it is back).
grpc::ChannelArguments WorkerChannelArguments();

struct WorkerPoolOptions {
  // The flag lists (see worker_addresses.h).
  std::string prefill;
  std::string decode;
  absl::Duration resolve_interval = absl::Seconds(10);
  absl::Duration health_interval = absl::Seconds(1);
  // A failed worker's next attempt: initial_backoff, doubling up to max_backoff.
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
  // Longest gap between WatchLoad reports asked of workers.
  int32_t watch_interval_millis = 500;
  // Deadline of one health check.
  absl::Duration health_timeout = absl::Seconds(2);
};

using WorkerRole = baton::internal::v1::WorkerRole;

class WorkerPool {
 public:
  // Parses the lists (kInvalidArgument for a bad entry), resolves DNS entries once (a name that
  // does not resolve yet is asked again later), and starts watching every worker. `clock` must
  // outlive the pool.
  static absl::StatusOr<std::unique_ptr<WorkerPool>> Create(
      const WorkerPoolOptions& options, ChannelFactory channels, Resolver resolver,
      const serving::MonotonicClock* clock);
  // Stops the maintenance thread and every watcher.
  ~WorkerPool();

  // Does what is due at clock->Now(): re-resolves DNS entries (adding and removing workers),
  // starts the next attempt of workers out of the pool whose backoff ended, health-checks
  // workers in the pool.
  void Maintain();
  // Calls Maintain every `period` of real time on a thread of its own until destruction.
  void StartMaintenance(absl::Duration period);

  // Whether any worker of `role` is configured (a list entry), in the pool or not.
  bool Configured(WorkerRole role) const;
  // The workers of `role` in the pool now, except `exclude`, in address order, each with its
  // prefix-cache overlap with `prompt`.
  std::vector<WorkerView> Candidates(WorkerRole role, absl::Span<const int32_t> prompt,
                                     const absl::flat_hash_set<std::string>& exclude = {}) const;
  // Every known worker of `role` (in the pool or not), in address order.
  std::vector<std::string> Addresses(WorkerRole role) const;
  // Whether `address` is in the pool now.
  bool InPool(const std::string& address) const;
  // Failed connection attempts of `address` since it was last in the pool (0 for an unknown one).
  int32_t ConsecutiveFailures(const std::string& address) const;
  // The channel of a known worker; null for an unknown address.
  std::shared_ptr<grpc::Channel> Channel(const std::string& address) const;

  // Counts a request routed to `address` (WorkerView::in_flight) until the handle is destroyed.
  class InFlight {
   public:
    ~InFlight();
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    friend class WorkerPool;
    InFlight(const WorkerPool* pool, std::string address, int64_t prompt_tokens)
        : pool_(pool), address_(std::move(address)), prompt_tokens_(prompt_tokens) {}
    const WorkerPool* pool_;
    std::string address_;
    int64_t prompt_tokens_;
  };
  std::unique_ptr<InFlight> Begin(const std::string& address, int64_t prompt_tokens) const;

  // Blocks until `ready(*this)` holds (checked whenever a worker's state changes) or `timeout`
  // passes; returns whether it held. For tests and start-up.
  bool WaitFor(const std::function<bool(const WorkerPool&)>& ready, absl::Duration timeout) const;

 private:
  struct Worker;
  WorkerPool(const WorkerPoolOptions& options, ChannelFactory channels, Resolver resolver,
             const serving::MonotonicClock* clock);

  void AddWorker(WorkerRole role, const std::string& address, bool from_dns)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Watch(Worker* worker);
  // One connection: health check, then the WatchLoad stream until it ends.
  void Connect(Worker* worker);
  void LeavePool(Worker* worker, bool failed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Resolve(absl::Duration now);
  void StopWorker(std::shared_ptr<Worker> worker);

  const WorkerPoolOptions options_;
  const ChannelFactory channels_;
  const Resolver resolver_;
  const serving::MonotonicClock* const clock_;
  std::vector<std::pair<WorkerRole, WorkerAddressEntry>> entries_;

  mutable absl::Mutex mu_;
  // Bumped on every state change (WaitFor wakes on it).
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::shared_ptr<Worker>> workers_ ABSL_GUARDED_BY(mu_);
  absl::Duration next_resolve_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex maintain_mu_;  // one Maintain at a time
  absl::Notification stop_maintenance_;
  std::thread maintenance_;
};

}  // namespace baton::router
