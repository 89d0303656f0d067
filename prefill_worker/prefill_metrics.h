// The prefill worker's Prometheus metrics, registered once on the process registry and updated
// by the scheduler thread. Counters end in _total and units are in the names, so
// `promtool check metrics` accepts them.
//
// Threading: prometheus-cpp metrics are thread-safe; the struct is immutable after Create.
#pragma once

#include <memory>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "serving/prefix_cache_metrics.h"

namespace baton::prefill_worker {

struct PrefillMetrics {
  // Registers every family on `registry` (which must outlive the metrics).
  static std::unique_ptr<PrefillMetrics> Create(prometheus::Registry& registry);

  prometheus::Counter* requests = nullptr;       // Prefill calls accepted into the queue
  prometheus::Counter* rejected = nullptr;       // queue full or prompt larger than the pool
  prometheus::Counter* failed = nullptr;         // ended with an error (transfer, deadline...)
  prometheus::Counter* cancelled = nullptr;      // dropped because the caller went away
  prometheus::Counter* prompt_tokens = nullptr;  // prompt tokens computed (cache hits excluded)
  prometheus::Counter* steps = nullptr;
  prometheus::Histogram* step_seconds = nullptr;
  prometheus::Histogram* batch_tokens = nullptr;     // tokens per step
  prometheus::Histogram* batch_sequences = nullptr;  // sequences per step
  prometheus::Histogram* queue_seconds = nullptr;
  prometheus::Gauge* queue_depth = nullptr;
  prometheus::Gauge* queued_tokens = nullptr;
  prometheus::Gauge* kv_blocks_used = nullptr;
  prometheus::Gauge* kv_blocks_free = nullptr;
  prometheus::Counter* transfer_bytes = nullptr;
  prometheus::Histogram* transfer_seconds = nullptr;  // first layer write to delivered completion
  prometheus::Counter* transfer_failures = nullptr;
  std::unique_ptr<serving::PrefixCacheMetrics> prefix_cache;  // baton_prefill_prefix_cache_*
};

}  // namespace baton::prefill_worker
