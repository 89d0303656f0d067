// How the router picks a worker of one pool for a request, from the pool's view of its
// candidates (load reports, this router's requests in flight, prefix-cache overlap). The same
// policy picks prefill and decode workers; `role` says which.
//
// Policies by name (MakeRoutingPolicy, the registry in routing_policies.cc):
//   round_robin   each in turn
//   least_loaded  the lowest load: prefill workers by queued prompt tokens (their report plus
//                 this router's prompts in flight there), decode workers by sequences (running,
//                 waiting, in flight) and the share of KV blocks in use
//   two_choices   two candidates at random, the less loaded of them
//   prefix_aware  the lowest cost after crediting cached prefix overlap: a prefill worker's cost
//                 is the prompt tokens it would have to compute (queue plus this prompt's
//                 uncached part); a decode worker's is least_loaded's minus the share of the
//                 prompt it holds times prefix_overlap_weight (each held block is KV that
//                 neither crosses the wire nor is computed again; the weight says how many
//                 sequences of load holding the whole prompt outweighs)
//
// Threading: Pick is thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "proto/baton/internal/v1/worker.pb.h"
#include "router/worker_view.h"

namespace baton::router {

class RoutingPolicy {
 public:
  virtual ~RoutingPolicy() = default;
  // The index in `candidates` (non-empty) of the chosen worker.
  virtual size_t Pick(baton::internal::v1::WorkerRole role,
                      absl::Span<const WorkerView> candidates) = 0;
};

struct RoutingPolicyOptions {
  // Feeds the random choices of two_choices.
  uint64_t seed = 0;
  // prefix_aware, decode pool: the sequences of load that holding the whole prompt outweighs.
  // The router's --prefix_overlap_weight defaults to 8, the best of 1, 2, 4 and 8 measured on
  // the shared-prefix workload (docs/BENCHMARKS.md).
  double prefix_overlap_weight = 1.0;
};

// The policy named `name`, or kInvalidArgument listing the known names (or for a negative
// weight).
absl::StatusOr<std::unique_ptr<RoutingPolicy>> MakeRoutingPolicy(
    absl::string_view name, const RoutingPolicyOptions& options = {});
// The known names, in a fixed order.
std::vector<std::string> RoutingPolicyNames();

}  // namespace baton::router
