#include "serving/worker_load_service.h"

#include <algorithm>
#include <optional>

#include "absl/time/clock.h"

namespace baton::serving {

namespace v1 = ::baton::internal::v1;

namespace {

// Polling period for changes between the guaranteed reports.
constexpr absl::Duration kPollPeriod = absl::Milliseconds(20);

bool Changed(const v1::WorkerLoad& a, const v1::WorkerLoad& b) {
  return a.running_sequences() != b.running_sequences() ||
         a.waiting_sequences() != b.waiting_sequences() ||
         a.free_kv_blocks() != b.free_kv_blocks() ||
         a.pending_transfers() != b.pending_transfers() ||
         a.cached_kv_blocks() != b.cached_kv_blocks() || a.draining() != b.draining();
}

// Sets a snapshot of every name the pool caches and returns its journal position.
uint64_t AddSnapshot(const engine::KvPool& pool, v1::WorkerLoad& load) {
  engine::KvPool::CacheSnapshot snapshot = pool.Snapshot();
  v1::PrefixCacheEvents* events = load.mutable_prefix_cache();
  events->set_snapshot(true);
  events->mutable_stored()->Assign(snapshot.hashes.begin(), snapshot.hashes.end());
  return snapshot.cursor;
}

// Sets the changes since `cursor` (or a snapshot when they are lost) and advances it; false when
// nothing changed.
bool AddDelta(const engine::KvPool& pool, uint64_t& cursor, v1::WorkerLoad& load) {
  std::optional<engine::KvPool::CacheDelta> delta = pool.EventsSince(cursor);
  if (!delta.has_value()) {
    cursor = AddSnapshot(pool, load);
    return true;
  }
  cursor = delta->cursor;
  if (delta->stored.empty() && delta->removed.empty()) return false;
  v1::PrefixCacheEvents* events = load.mutable_prefix_cache();
  events->mutable_stored()->Assign(delta->stored.begin(), delta->stored.end());
  events->mutable_removed()->Assign(delta->removed.begin(), delta->removed.end());
  return true;
}

}  // namespace

v1::WorkerLoad WorkerLoadService::Report() const {
  v1::WorkerLoad load = provider_();
  // From the pool itself, like the prefix-cache events it goes with (the provider's counts are a
  // snapshot of the last scheduler step).
  if (pool_ != nullptr) load.set_cached_kv_blocks(pool_->num_cached());
  return load;
}

grpc::Status WorkerLoadService::GetLoad(grpc::ServerContext*, const v1::GetLoadRequest*,
                                        v1::WorkerLoad* response) {
  *response = Report();
  if (pool_ != nullptr) AddSnapshot(*pool_, *response);
  return grpc::Status::OK;
}

grpc::Status WorkerLoadService::WatchLoad(grpc::ServerContext* context,
                                          const v1::WatchLoadRequest* request,
                                          grpc::ServerWriter<v1::WorkerLoad>* writer) {
  const absl::Duration interval = request->interval_millis() > 0
                                      ? absl::Milliseconds(request->interval_millis())
                                      : absl::Seconds(1);
  v1::WorkerLoad last = Report();
  uint64_t cursor = 0;
  if (pool_ != nullptr) cursor = AddSnapshot(*pool_, last);
  if (!writer->Write(last)) return grpc::Status::OK;
  absl::Time last_sent = absl::Now();
  while (!context->IsCancelled()) {
    const bool stopping = stopped_.WaitForNotificationWithTimeout(std::min(kPollPeriod, interval));
    v1::WorkerLoad now = Report();
    const bool cache_changed = pool_ != nullptr && AddDelta(*pool_, cursor, now);
    if (!stopping && !cache_changed && !Changed(now, last) && absl::Now() - last_sent < interval) {
      continue;
    }
    // On Stop: one last report, so watchers learn the worker is draining.
    if (!writer->Write(now) || stopping) break;
    now.clear_prefix_cache();
    last = std::move(now);
    last_sent = absl::Now();
  }
  return grpc::Status::OK;
}

}  // namespace baton::serving
