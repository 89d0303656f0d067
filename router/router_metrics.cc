#include "router/router_metrics.h"

#include "common/metrics.h"

namespace baton::router {
namespace {

prometheus::Histogram* Latency(prometheus::Registry& registry, const char* name, const char* help,
                               const prometheus::Labels& labels) {
  return &prometheus::BuildHistogram()
              .Name(name)
              .Help(help)
              .Register(registry)
              .Add(labels, common::LatencyBucketsSeconds());
}

prometheus::Counter* Counter(prometheus::Registry& registry, const char* name, const char* help,
                             const prometheus::Labels& labels) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add(labels);
}

prometheus::Gauge* Gauge(prometheus::Registry& registry, const char* name, const char* help,
                         const prometheus::Labels& labels) {
  return &prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add(labels);
}

}  // namespace

RouterMetrics::RouterMetrics(prometheus::Registry& registry, prometheus::Registry& vllm,
                             const std::string& model_name)
    : model_name_(model_name),
      requests_(prometheus::BuildCounter()
                    .Name("baton_router_requests_total")
                    .Help("Requests answered, by endpoint and status")
                    .Register(registry)),
      finished_(prometheus::BuildCounter()
                    .Name("baton_router_finished_total")
                    .Help("Requests generated to their end, by finish reason")
                    .Register(registry)),
      vllm_success_(prometheus::BuildCounter()
                        .Name("vllm:request_success_total")
                        .Help("Count of successfully processed requests (vLLM name).")
                        .Register(vllm)) {
  const prometheus::Labels none;
  const prometheus::Labels model = {{"model_name", model_name}};
  ttft_ = {Latency(registry, "baton_router_time_to_first_token_seconds",
                   "Seconds from arrival to the first generated text", none),
           Latency(vllm, "vllm:time_to_first_token_seconds",
                   "Histogram of time to first token in seconds (vLLM name).", model)};
  itl_ = {Latency(registry, "baton_router_inter_token_latency_seconds",
                  "Seconds between consecutive generated tokens", none),
          Latency(vllm, "vllm:time_per_output_token_seconds",
                  "Histogram of time per output token in seconds (vLLM name).", model)};
  e2e_ = {Latency(registry, "baton_router_e2e_request_latency_seconds",
                  "Seconds from arrival to the last token", none),
          Latency(vllm, "vllm:e2e_request_latency_seconds",
                  "Histogram of end to end request latency in seconds (vLLM name).", model)};
  prompt_tokens_[0] = Counter(registry, "baton_router_prompt_tokens_total",
                              "Prompt tokens of finished requests", none);
  prompt_tokens_[1] = Counter(vllm, "vllm:prompt_tokens_total",
                              "Number of prefill tokens processed (vLLM name).", model);
  generation_tokens_[0] = Counter(registry, "baton_router_generation_tokens_total",
                                  "Tokens generated for finished requests", none);
  generation_tokens_[1] = Counter(vllm, "vllm:generation_tokens_total",
                                  "Number of generation tokens processed (vLLM name).", model);
  running_[0] = Gauge(registry, "baton_router_requests_running", "Requests admitted and running",
                      none);
  running_[1] = Gauge(vllm, "vllm:num_requests_running",
                      "Number of requests in model execution batches (vLLM name).", model);
  waiting_[0] = Gauge(registry, "baton_router_requests_waiting",
                      "Requests waiting for admission", none);
  waiting_[1] = Gauge(vllm, "vllm:num_requests_waiting",
                      "Number of requests waiting to be processed (vLLM name).", model);
}

void RouterMetrics::CountRequest(std::string_view endpoint, std::string_view status) {
  requests_.Add({{"endpoint", std::string(endpoint)}, {"status", std::string(status)}})
      .Increment();
}

void RouterMetrics::ObserveFirstToken(double seconds) {
  ttft_.baton->Observe(seconds);
  ttft_.vllm->Observe(seconds);
}

void RouterMetrics::ObserveInterToken(double seconds) {
  itl_.baton->Observe(seconds);
  itl_.vllm->Observe(seconds);
}

void RouterMetrics::ObserveFinished(std::string_view finished_reason, int32_t prompt_tokens,
                                    int32_t completion_tokens, double e2e_seconds) {
  finished_.Add({{"finished_reason", std::string(finished_reason)}}).Increment();
  vllm_success_.Add({{"model_name", model_name_}, {"finished_reason", std::string(finished_reason)}})
      .Increment();
  for (prometheus::Counter* c : prompt_tokens_) c->Increment(prompt_tokens);
  for (prometheus::Counter* c : generation_tokens_) c->Increment(completion_tokens);
  e2e_.baton->Observe(e2e_seconds);
  e2e_.vllm->Observe(e2e_seconds);
}

void RouterMetrics::SetQueue(int32_t running, int32_t waiting) {
  for (prometheus::Gauge* g : running_) g->Set(running);
  for (prometheus::Gauge* g : waiting_) g->Set(waiting);
}

}  // namespace baton::router
