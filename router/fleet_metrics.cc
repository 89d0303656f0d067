#include "router/fleet_metrics.h"

namespace baton::router {
namespace {

prometheus::Counter* Counter(prometheus::Registry& registry, const char* name, const char* help) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

FleetMetrics::FleetMetrics(prometheus::Registry& registry, std::string policy)
    : policy_(std::move(policy)),
      decisions_(prometheus::BuildCounter()
                     .Name("baton_router_routing_decisions_total")
                     .Help("Workers picked for requests, by pool, worker and routing policy")
                     .Register(registry)),
      local_prefills_(prometheus::BuildCounter()
                          .Name("baton_router_local_prefills_total")
                          .Help("Requests prefilled on their decode worker, by reason")
                          .Register(registry)),
      prefill_retries_(Counter(registry, "baton_router_prefill_retries_total",
                               "Prefill attempts on another worker after a failed one")),
      decode_retries_(Counter(registry, "baton_router_decode_retries_total",
                              "Decode workers tried after one refused or failed before streaming")),
      migrations_(Counter(registry, "baton_router_migrations_total",
                          "Streams continued on another decode worker after theirs failed")) {
  for (const char* reason : {"colocated", "short_uncached", "no_prefill_worker",
                             "prefill_saturated", "prefill_failed"}) {
    local_prefills_.Add({{"reason", reason}});
  }
}

void FleetMetrics::CountDecision(std::string_view pool, const std::string& worker) {
  decisions_.Add({{"pool", std::string(pool)}, {"worker", worker}, {"policy", policy_}})
      .Increment();
}

void FleetMetrics::CountLocalPrefill(std::string_view reason) {
  local_prefills_.Add({{"reason", std::string(reason)}}).Increment();
}

}  // namespace baton::router
