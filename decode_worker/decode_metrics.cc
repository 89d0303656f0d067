#include "decode_worker/decode_metrics.h"

#include "common/metrics.h"
#include "serving/metric_builders.h"

namespace baton::decode_worker {

std::unique_ptr<DecodeMetrics> DecodeMetrics::Create(prometheus::Registry& r) {
  auto m = std::make_unique<DecodeMetrics>();
  m->requests = serving::AddCounter(r, "baton_decode_requests_total", "Decode requests accepted.");
  m->rejected_no_blocks =
      serving::AddCounter(r, "baton_decode_rejected_no_kv_blocks_total",
                          "Decode requests refused because no KV blocks were free.");
  m->failed =
      serving::AddCounter(r, "baton_decode_failed_total", "Decode requests ended with an error.");
  m->cancelled =
      serving::AddCounter(r, "baton_decode_cancelled_total", "Decode requests cancelled.");
  m->preemptions = serving::AddCounter(r, "baton_decode_preemptions_total",
                                       "Sequences preempted (blocks freed, recomputed later).");
  m->generated_tokens =
      serving::AddCounter(r, "baton_decode_generated_tokens_total", "Tokens streamed to clients.");
  m->prefill_tokens =
      serving::AddCounter(r, "baton_decode_local_prefill_tokens_total",
                          "Prompt tokens computed on this worker (colocated or recompute).");
  m->steps = serving::AddCounter(r, "baton_decode_steps_total", "Engine steps run.");
  m->step_seconds =
      serving::AddHistogram(r, "baton_decode_step_seconds", "Duration of one engine step.",
                            common::LatencyBucketsSeconds());
  m->batch_size = serving::AddHistogram(r, "baton_decode_batch_size", "Sequences per engine step.",
                                        {1, 2, 4, 8, 16, 32, 64, 128});
  m->max_batch_size = serving::AddGauge(r, "baton_decode_max_batch_size",
                                        "Largest number of sequences in one step since start.");
  m->running =
      serving::AddGauge(r, "baton_decode_running_sequences", "Sequences in the running batch.");
  m->waiting = serving::AddGauge(r, "baton_decode_waiting_sequences",
                                 "Sequences waiting for KV, for a batch slot or for recompute.");
  m->pending_transfers = serving::AddGauge(r, "baton_decode_pending_kv_transfers",
                                           "Reservations waiting for KV from a prefill worker.");
  m->kv_blocks_used = serving::AddGauge(r, "baton_decode_kv_blocks_used", "KV blocks in use.");
  m->kv_blocks_free = serving::AddGauge(r, "baton_decode_kv_blocks_free", "Free KV blocks.");
  m->transfer_bytes = serving::AddCounter(r, "baton_decode_kv_transfer_received_bytes_total",
                                          "KV bytes received from prefill workers.");
  m->transfer_seconds = serving::AddHistogram(
      r, "baton_decode_kv_transfer_seconds", "From block reservation to the completed KV transfer.",
      common::LatencyBucketsSeconds());
  m->lease_renewals = serving::AddCounter(
      r, "baton_decode_lease_renewals_total",
      "Leases on reserved blocks renewed while their prefill ran (DecodeService.RenewLease).");
  m->transfer_failures =
      serving::AddCounter(r, "baton_decode_kv_transfer_failures_total",
                          "KV transfers that expired, were aborted or failed checks.");
  m->prefix_cache = std::make_unique<serving::PrefixCacheMetrics>(r, "baton_decode");
  return m;
}

}  // namespace baton::decode_worker
