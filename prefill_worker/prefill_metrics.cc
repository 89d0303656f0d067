#include "prefill_worker/prefill_metrics.h"

#include "common/metrics.h"
#include "serving/metric_builders.h"

namespace baton::prefill_worker {

std::unique_ptr<PrefillMetrics> PrefillMetrics::Create(prometheus::Registry& r) {
  auto m = std::make_unique<PrefillMetrics>();
  m->requests = serving::AddCounter(r, "baton_prefill_requests_total", "Prefill requests queued.");
  m->rejected =
      serving::AddCounter(r, "baton_prefill_rejected_total",
                          "Prefill requests refused (queue full or prompt larger than the pool).");
  m->failed =
      serving::AddCounter(r, "baton_prefill_failed_total", "Prefill requests ended with an error.");
  m->cancelled = serving::AddCounter(r, "baton_prefill_cancelled_total",
                                     "Prefill requests dropped because the caller cancelled.");
  m->prompt_tokens =
      serving::AddCounter(r, "baton_prefill_prompt_tokens_total",
                          "Prompt tokens computed (those found in the prefix cache excluded).");
  m->steps = serving::AddCounter(r, "baton_prefill_steps_total", "Engine steps run.");
  m->step_seconds =
      serving::AddHistogram(r, "baton_prefill_step_seconds", "Duration of one engine step.",
                            common::LatencyBucketsSeconds());
  m->batch_tokens =
      serving::AddHistogram(r, "baton_prefill_batch_tokens", "Prompt tokens per engine step.",
                            {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192});
  m->batch_sequences = serving::AddHistogram(
      r, "baton_prefill_batch_sequences", "Sequences per engine step.", {1, 2, 4, 8, 16, 32, 64});
  m->queue_seconds =
      serving::AddHistogram(r, "baton_prefill_queue_seconds", "Time waiting in the queue.",
                            common::LatencyBucketsSeconds());
  m->queue_depth =
      serving::AddGauge(r, "baton_prefill_queue_depth", "Requests waiting for compute.");
  m->queued_tokens = serving::AddGauge(r, "baton_prefill_queued_prompt_tokens",
                                       "Prompt tokens waiting for compute.");
  m->kv_blocks_used =
      serving::AddGauge(r, "baton_prefill_kv_blocks_used", "Scratch KV blocks in use.");
  m->kv_blocks_free =
      serving::AddGauge(r, "baton_prefill_kv_blocks_free", "Free scratch KV blocks.");
  m->transfer_bytes = serving::AddCounter(r, "baton_prefill_kv_transfer_sent_bytes_total",
                                          "KV bytes written to decode workers.");
  m->transfer_seconds = serving::AddHistogram(
      r, "baton_prefill_kv_transfer_seconds",
      "From the first layer write to the delivered completion (overlaps compute).",
      common::LatencyBucketsSeconds());
  m->transfer_failures =
      serving::AddCounter(r, "baton_prefill_kv_transfer_failures_total",
                          "KV transfers that failed (peer gone, deadline, aborted).");
  m->prefix_cache = std::make_unique<serving::PrefixCacheMetrics>(r, "baton_prefill");
  return m;
}

}  // namespace baton::prefill_worker
