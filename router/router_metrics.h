// The router's metrics, each under baton's name and, for what vLLM also reports, under vLLM's
// name and labels (model_name) so existing vLLM dashboards and alerts work unchanged. The two sets
// live in two registries: baton's names on /metrics, vLLM's on /metrics/vllm. vLLM's names contain
// ':', which Prometheus reserves for recording rules and `promtool check metrics` rejects; kept
// apart, /metrics stays lint-clean and a vLLM dashboard's scrape job points at /metrics/vllm.
//   baton_router_requests_total{endpoint,status}
//   baton_router_time_to_first_token_seconds      vllm:time_to_first_token_seconds
//   baton_router_inter_token_latency_seconds      vllm:time_per_output_token_seconds
//   baton_router_e2e_request_latency_seconds      vllm:e2e_request_latency_seconds
//   baton_router_prompt_tokens_total              vllm:prompt_tokens_total
//   baton_router_generation_tokens_total          vllm:generation_tokens_total
//   baton_router_requests_running / _waiting      vllm:num_requests_running / _waiting
//   baton_router_finished_total{finished_reason}  vllm:request_success_total{finished_reason}
//
// Thread-safe (prometheus-cpp metrics are).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace baton::router {

class RouterMetrics {
 public:
  RouterMetrics(prometheus::Registry& registry, prometheus::Registry& vllm_registry,
                const std::string& model_name);

  // One answered request: its endpoint label and status (HTTP status number, or the gRPC code
  // name for gRPC calls).
  void CountRequest(std::string_view endpoint, std::string_view status);
  void ObserveFirstToken(double seconds);
  void ObserveInterToken(double seconds);
  // A request that generated to its end; `finished_reason` is "stop" or "length".
  void ObserveFinished(std::string_view finished_reason, int32_t prompt_tokens,
                       int32_t completion_tokens, double e2e_seconds);
  void SetQueue(int32_t running, int32_t waiting);

 private:
  struct Pair {
    prometheus::Histogram* baton;
    prometheus::Histogram* vllm;
  };
  const std::string model_name_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& finished_;
  prometheus::Family<prometheus::Counter>& vllm_success_;
  Pair ttft_, itl_, e2e_;
  prometheus::Counter* prompt_tokens_[2];
  prometheus::Counter* generation_tokens_[2];
  prometheus::Gauge* running_[2];
  prometheus::Gauge* waiting_[2];
};

}  // namespace baton::router
