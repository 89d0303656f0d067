// GenerationRunner over a WorkerPool and a RoutingPolicy: each request's decode worker and
// prefill worker are picked from the pool's healthy workers by the policy, and failures move
// the request elsewhere instead of failing it.
//
//   - Conditional disaggregation: D is asked to prefill itself when the part of the prompt its
//     prefix cache lacks is at most local_prefill_max_tokens (it then answers LocalPrefill and no
//     prefill worker is called), and always when no prefill worker is healthy or every one is
//     saturated (queued prompt tokens >= prefill_saturated_tokens).
//   - Prefill failover: a failed or timed-out prefill attempt goes to another prefill worker with
//     the same KvTarget (at most max_prefill_attempts in all, while D's lease lasts, counted on
//     options.clock; the lease is renewed while the attempts run, router/lease_renewer.h); when
//     every attempt failed, the request is prefilled on the same D.
//   - Decode failover: RESOURCE_EXHAUSTED or UNAVAILABLE from D before it streamed a token tries
//     another decode worker (at most max_decode_attempts decode workers per start).
//   - Migration: when D fails mid-stream, the request continues on another decode worker by
//     prefilling prompt + the tokens generated so far, with the same seed and max_tokens reduced
//     by them (a token's draw depends only on (seed, position) and the sequence so far, so the
//     continuation is the one D would have produced); the caller sees one stream. At most
//     max_migrations, then kUnavailable naming the last failure.
//
// Threading: thread-safe; Generate blocks its caller (and uses one thread for prefill calls).
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "router/fleet_metrics.h"
#include "router/generation_runner.h"
#include "router/routing_policy.h"
#include "router/worker_pool.h"
#include "serving/monotonic_clock.h"

namespace baton::router {

struct FleetOptions {
  // 0: D never prefills on its own account (only when told to).
  int32_t local_prefill_max_tokens = 0;
  int32_t max_prefill_attempts = 3;
  int32_t max_decode_attempts = 3;
  // 0 turns migration off.
  int32_t max_migrations = 3;
  // Longest one prefill attempt may take before it is retried elsewhere (its wait in the prefill
  // worker's queue included); it also bounds how long D's lease is renewed for a stalled attempt.
  absl::Duration prefill_attempt_timeout = absl::Seconds(60);
  // A prefill worker with at least this many queued prompt tokens is saturated; 0: never.
  int64_t prefill_saturated_tokens = 0;
  // Counts down D's lease between prefill attempts (RunHandoff); must outlive the runner.
  const serving::MonotonicClock* clock = serving::SteadyClock::Get();
};

class FleetRunner : public GenerationRunner {
 public:
  // `pool`, `policy` and `metrics` must outlive the runner.
  FleetRunner(const WorkerPool* pool, RoutingPolicy* policy, FleetMetrics* metrics,
              FleetOptions options);

  // Errors: kFailedPrecondition when no decode worker is configured; kUnavailable when no decode
  // worker is healthy, or the retries and migrations above ran out (the last failure named);
  // a worker's own status for what no other worker would answer differently
  // (kInvalidArgument, ...); kCancelled when `on_tokens` asked to stop.
  absl::StatusOr<DisaggResult> Generate(const DisaggRequest& request,
                                        const TokenCallback& on_tokens) override;

 private:
  size_t Pick(baton::internal::v1::WorkerRole role, absl::Span<const WorkerView> candidates) const;

  const WorkerPool* pool_;
  RoutingPolicy* policy_;
  FleetMetrics* metrics_;
  const FleetOptions options_;
};

}  // namespace baton::router
