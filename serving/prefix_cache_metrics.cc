#include "serving/prefix_cache_metrics.h"

#include "serving/metric_builders.h"

namespace baton::serving {

PrefixCacheMetrics::PrefixCacheMetrics(prometheus::Registry& registry, const std::string& prefix)
    : hit_tokens_(AddCounter(registry, (prefix + "_prefix_cache_hit_tokens_total").c_str(),
                             "Prompt tokens whose KV came from the prefix cache.")),
      blocks_(AddGauge(registry, (prefix + "_prefix_cache_blocks").c_str(),
                       "Full KV blocks held in the prefix cache (referenced or evictable).")),
      stored_blocks_(AddCounter(registry, (prefix + "_prefix_cache_stored_blocks_total").c_str(),
                                "KV blocks added to the prefix cache.")),
      evicted_blocks_(
          AddCounter(registry, (prefix + "_prefix_cache_evicted_blocks_total").c_str(),
                     "Cached KV blocks evicted to make room.")) {}

void PrefixCacheMetrics::Update(const engine::KvPool& pool) {
  const engine::KvPool::CacheStats stats = pool.cache_stats();
  blocks_->Set(pool.num_cached());
  stored_blocks_->Increment(static_cast<double>(stats.stored_blocks - counted_.stored_blocks));
  evicted_blocks_->Increment(static_cast<double>(stats.evicted_blocks - counted_.evicted_blocks));
  counted_ = stats;
}

}  // namespace baton::serving
