// The decode worker's Prometheus metrics, registered once on the process registry and updated by
// the scheduler thread. Names follow Prometheus conventions (counters end in _total, units in
// the name) so `promtool check metrics` accepts them.
//
// Threading: prometheus-cpp metrics are thread-safe; the struct itself is immutable after Create.
#pragma once

#include <memory>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "serving/prefix_cache_metrics.h"

namespace baton::decode_worker {

struct DecodeMetrics {
  // Registers every family on `registry` (which must outlive the metrics).
  static std::unique_ptr<DecodeMetrics> Create(prometheus::Registry& registry);

  prometheus::Counter* requests = nullptr;            // Decode calls accepted
  prometheus::Counter* rejected_no_blocks = nullptr;  // kResourceExhausted at reservation
  prometheus::Counter* failed = nullptr;              // ended with an error status
  prometheus::Counter* cancelled = nullptr;           // cancelled by the client
  prometheus::Counter* preemptions = nullptr;         // sequences preempted for recompute
  prometheus::Counter* generated_tokens = nullptr;    // tokens streamed
  prometheus::Counter* prefill_tokens = nullptr;      // prompt tokens computed locally
  prometheus::Counter* steps = nullptr;
  prometheus::Histogram* step_seconds = nullptr;
  prometheus::Histogram* batch_size = nullptr;  // sequences per step
  prometheus::Gauge* max_batch_size = nullptr;  // largest batch seen since start
  prometheus::Gauge* running = nullptr;
  prometheus::Gauge* waiting = nullptr;
  prometheus::Gauge* pending_transfers = nullptr;
  prometheus::Gauge* kv_blocks_used = nullptr;
  prometheus::Gauge* kv_blocks_free = nullptr;
  prometheus::Counter* transfer_bytes = nullptr;      // KV bytes received
  prometheus::Histogram* transfer_seconds = nullptr;  // reservation to completed KV
  prometheus::Counter* transfer_failures = nullptr;   // expired, aborted or corrupt transfers
  prometheus::Counter* lease_renewals = nullptr;      // RenewLease calls that renewed a lease
  std::unique_ptr<serving::PrefixCacheMetrics> prefix_cache;  // baton_decode_prefix_cache_*
};

}  // namespace baton::decode_worker
