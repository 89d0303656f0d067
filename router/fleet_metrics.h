// The router's fleet metrics, on its /metrics page beside RouterMetrics':
//   baton_router_routing_decisions_total{pool,worker,policy}  workers picked (pool: prefill|decode)
//   baton_router_prefill_retries_total      prefill attempts after a first one failed
//   baton_router_decode_retries_total       decode workers tried after one refused or failed
//                                           before streaming (RESOURCE_EXHAUSTED, UNAVAILABLE)
//   baton_router_migrations_total           streams moved to another decode worker mid-stream
//   baton_router_local_prefills_total{reason}  requests prefilled on their decode worker:
//       colocated (asked for, or no prefill pool), short_uncached (D's cache left at most
//       --local_prefill_max_tokens), no_prefill_worker (none healthy), prefill_saturated,
//       prefill_failed (every attempt failed)
//
// Thread-safe (prometheus-cpp metrics are).
#pragma once

#include <string>
#include <string_view>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"

namespace baton::router {

class FleetMetrics {
 public:
  FleetMetrics(prometheus::Registry& registry, std::string policy);

  void CountDecision(std::string_view pool, const std::string& worker);
  void CountPrefillRetry() { prefill_retries_->Increment(); }
  void CountDecodeRetry() { decode_retries_->Increment(); }
  void CountMigration() { migrations_->Increment(); }
  void CountLocalPrefill(std::string_view reason);

 private:
  const std::string policy_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& local_prefills_;
  prometheus::Counter* prefill_retries_;
  prometheus::Counter* decode_retries_;
  prometheus::Counter* migrations_;
};

}  // namespace baton::router
