// A worker's load as its scheduler publishes it (the WorkerLoad proto's counters, before the
// proto is built). A plain value type.
#pragma once

#include <cstdint>

namespace baton::serving {

struct LoadCounts {
  int32_t free_blocks = 0;
  int32_t total_blocks = 0;
  int32_t running = 0;
  int32_t waiting = 0;
  int32_t pending_transfers = 0;
  int64_t queued_prompt_tokens = 0;
  // Full blocks in the prefix cache (referenced or evictable).
  int32_t cached_blocks = 0;
};

}  // namespace baton::serving
