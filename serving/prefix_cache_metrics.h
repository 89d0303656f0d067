// The prefix cache's Prometheus metrics, the same for both workers under their own name prefix
// ("baton_decode", "baton_prefill"): hit tokens, cached blocks now, blocks stored and evicted.
//
// Threading: Update and the hit counter are used by the worker's scheduler thread only; the
// prometheus-cpp metrics themselves are thread-safe for scrapes.
#pragma once

#include <string>

#include "engine/kv_cache/kv_pool.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace baton::serving {

class PrefixCacheMetrics {
 public:
  // Registers <prefix>_prefix_cache_hit_tokens_total, <prefix>_prefix_cache_blocks,
  // <prefix>_prefix_cache_stored_blocks_total and <prefix>_prefix_cache_evicted_blocks_total.
  PrefixCacheMetrics(prometheus::Registry& registry, const std::string& prefix);

  // Prompt tokens whose KV came from the cache.
  void AddHitTokens(int64_t tokens) { hit_tokens_->Increment(static_cast<double>(tokens)); }
  // Brings the block gauge and counters up to `pool`'s (the pool counts; this adds what it
  // counted since the previous call).
  void Update(const engine::KvPool& pool);

  double hit_tokens() const { return hit_tokens_->Value(); }

 private:
  prometheus::Counter* hit_tokens_;
  prometheus::Gauge* blocks_;
  prometheus::Counter* stored_blocks_;
  prometheus::Counter* evicted_blocks_;
  engine::KvPool::CacheStats counted_;
};

}  // namespace baton::serving
