#include "kvtransfer/inprocess/inprocess_kv_transport.h"

#include <atomic>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"
#include "kvtransfer/checksum.h"
#include "kvtransfer/receive_tracker.h"
#include "kvtransfer/write_plan.h"

namespace baton::kvtransfer {
namespace {

class InProcessReceiver;

// Receivers of this process by address. Holding the lock while a landing begins keeps the
// receiver alive until the landing is counted; the tracker then waits for it to end.
struct Registry {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, ReceiveTracker*> receivers ABSL_GUARDED_BY(mu);
  std::atomic<uint64_t> next_id{1};
};

Registry& GlobalRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

std::string AddressKey(const std::string& address, uint64_t base) {
  return absl::StrCat(address, "@", base);
}

// The receivers one transport made, for its Stats().
struct ReceiverSet {
  absl::Mutex mu;
  std::vector<const ReceiveTracker*> trackers ABSL_GUARDED_BY(mu);
  int64_t dropped_by_gone_receivers ABSL_GUARDED_BY(mu) = 0;
};

class InProcessReceiver : public KvReceiver {
 public:
  InProcessReceiver(void* base, int32_t num_blocks, const engine::KvLayout& layout,
                    std::shared_ptr<ReceiverSet> set)
      : set_(std::move(set)),
        tracker_(std::make_unique<ReceiveTracker>(base, num_blocks, layout)),
        address_(absl::StrCat("inprocess-", GlobalRegistry().next_id.fetch_add(1))) {
    {
      Registry& registry = GlobalRegistry();
      absl::MutexLock lock(&registry.mu);
      registry.receivers[AddressKey(address_, reinterpret_cast<uint64_t>(base))] = tracker_.get();
    }
    absl::MutexLock lock(&set_->mu);
    set_->trackers.push_back(tracker_.get());
  }

  ~InProcessReceiver() override {
    {
      Registry& registry = GlobalRegistry();
      absl::MutexLock lock(&registry.mu);
      registry.receivers.erase(
          AddressKey(address_, reinterpret_cast<uint64_t>(tracker_->pool_base())));
    }
    // Unreachable now: aborting what is live and waiting for landings is the tracker's job.
    // The set forgets it only afterwards, so Stats() counts its transfers until delivered.
    tracker_->Shutdown();
    absl::MutexLock lock(&set_->mu);
    set_->dropped_by_gone_receivers += tracker_->dropped_writes();
    std::erase(set_->trackers, tracker_.get());
  }

  absl::StatusOr<KvTarget> ExpectTransfer(TransferId id, std::vector<int32_t> block_ids,
                                          ExpectOptions options,
                                          ReceiveCallback on_complete) override {
    KvTarget target = tracker_->TargetFor(id, block_ids, options);
    target.transport = kInProcessTransportName;
    target.worker_address = address_;
    RETURN_IF_ERROR(tracker_->Expect(id, std::move(block_ids), options, std::move(on_complete)));
    return target;
  }

  void Abort(TransferId id) override {
    tracker_->Fail(id, absl::AbortedError(absl::StrCat("transfer ", id, " aborted by receiver")));
  }

  void ExtendDeadline(TransferId id, absl::Time deadline) override {
    tracker_->ExtendDeadline(id, deadline);
  }

 private:
  std::shared_ptr<ReceiverSet> set_;
  std::unique_ptr<ReceiveTracker> tracker_;
  const std::string address_;
};

// Runs posted tasks in order on one thread.
class Worker {
 public:
  Worker() : thread_([this] { Loop(); }) {}
  ~Worker() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }
  void Post(absl::AnyInvocable<void() &&> task) {
    absl::MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
  }

 private:
  void Loop() {
    while (true) {
      absl::AnyInvocable<void() &&> task;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Worker* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
              return w->stopping_ || !w->tasks_.empty();
            },
            this));
        if (tasks_.empty()) return;  // Stopping with nothing left.
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      std::move(task)();
    }
  }

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

struct Counters {
  std::atomic<int64_t> sending{0};
};

// The shared state of one stream; only the worker thread touches it after creation, except
// `cancelled`.
struct StreamState {
  KvTarget target;
  KvSource source;
  absl::Time deadline;
  absl::Status failure;  // Sticky.
  std::vector<bool> requested;
  std::atomic<bool> cancelled{false};
};

class InProcessStream : public KvWriteStream {
 public:
  InProcessStream(std::shared_ptr<StreamState> state, Worker* worker, Counters* counters)
      : state_(std::move(state)), worker_(worker), counters_(counters) {}

  TransferId id() const override { return state_->target.transfer_id; }

  void WriteLayer(int32_t layer, DoneCallback done) override {
    counters_->sending.fetch_add(1);
    worker_->Post([state = state_, layer, done = std::move(done), counters = counters_]() mutable {
      absl::Status status = CheckUsable(*state);
      if (status.ok()) {
        if (layer < 0 || layer >= state->target.layout.num_layers || state->requested[layer]) {
          status = absl::InvalidArgumentError(absl::StrCat("bad or repeated layer ", layer));
        } else {
          state->requested[layer] = true;
          status = CopyLayer(*state, layer);
          if (!status.ok()) state->failure = status;
        }
      }
      counters->sending.fetch_sub(1);
      std::move(done)(status);
    });
  }

  void Finish(Completion completion, DoneCallback done) override {
    counters_->sending.fetch_add(1);
    worker_->Post(
        [state = state_, completion = std::move(completion), done = std::move(done),
         counters = counters_]() mutable {
          absl::Status status = CheckUsable(*state);
          if (status.ok()) status = ValidateCompletion(completion);
          if (status.ok()) {
            for (bool requested : state->requested) {
              if (!requested) {
                status = absl::FailedPreconditionError("Finish before every layer was written");
              }
            }
          }
          if (status.ok()) {
            ReceiveTracker* tracker = nullptr;
            Registry& registry = GlobalRegistry();
            absl::MutexLock lock(&registry.mu);
            auto it = registry.receivers.find(
                AddressKey(state->target.worker_address, state->target.base_address));
            if (it == registry.receivers.end()) {
              status = absl::UnavailableError("KV receiver is gone");
            } else {
              tracker = it->second;
              tracker->SenderFinished(state->target.transfer_id, std::move(completion));
            }
          }
          if (!status.ok() && state->failure.ok()) state->failure = status;
          counters->sending.fetch_sub(1);
          std::move(done)(status);
        });
  }

  void Cancel() override {
    state_->cancelled.store(true);
    worker_->Post([state = state_] {
      Registry& registry = GlobalRegistry();
      absl::MutexLock lock(&registry.mu);
      auto it = registry.receivers.find(
          AddressKey(state->target.worker_address, state->target.base_address));
      if (it != registry.receivers.end()) {
        it->second->Fail(state->target.transfer_id,
                         absl::AbortedError("transfer cancelled by the sender"));
      }
    });
  }

 private:
  static absl::Status CheckUsable(StreamState& state) {
    if (!state.failure.ok()) return state.failure;
    if (state.cancelled.load()) {
      state.failure = absl::AbortedError("transfer cancelled");
    } else if (absl::Now() > state.deadline) {
      state.failure = absl::DeadlineExceededError("transfer deadline passed");
    }
    return state.failure;
  }

  static absl::Status CopyLayer(const StreamState& state, int32_t layer) {
    const KvTarget& target = state.target;
    const KvSource& source = state.source;
    const engine::KvLayout& layout = source.layout;
    for (const SlabRun& run : PlanLayer(source.block_ids, target.block_ids, layer,
                                        /*max_run_blocks=*/1 << 20)) {
      const size_t offset = RunOffset(layout, source.pool_num_blocks, source.block_ids, run);
      const size_t bytes = RunBytes(layout, run);
      const char* from = static_cast<const char*>(source.pool_base) + offset;
      std::optional<uint64_t> checksum;
      if (target.checksum) {
        const char* sum_from = source.checksum_base != nullptr
                                   ? static_cast<const char*>(source.checksum_base) + offset
                                   : from;
        checksum = KvChecksum(sum_from, bytes);
      }
      Registry& registry = GlobalRegistry();
      ReceiveTracker* tracker;
      absl::StatusOr<ReceiveTracker::Landing> landing;
      {
        absl::MutexLock lock(&registry.mu);
        auto it = registry.receivers.find(AddressKey(target.worker_address, target.base_address));
        if (it == registry.receivers.end()) return absl::UnavailableError("KV receiver is gone");
        tracker = it->second;
        landing = tracker->BeginLanding(target.transfer_id, run, bytes, checksum);
      }
      // A refused write is dropped by the receiver's rules; like a real transport, the sender
      // does not learn about it here.
      if (!landing.ok()) continue;
      std::memcpy(landing->destination, from, bytes);
      tracker->EndLanding(*landing, absl::OkStatus());
    }
    return absl::OkStatus();
  }

  std::shared_ptr<StreamState> state_;
  Worker* worker_;
  Counters* counters_;
};

class InProcessKvTransportImpl : public InProcessKvTransport {
 public:
  TransportCapabilities Capabilities() const override {
    TransportCapabilities caps;
    caps.name = kInProcessTransportName;
    caps.host_memory = true;
    caps.checksums = true;
    return caps;
  }

  absl::StatusOr<std::unique_ptr<KvReceiver>> CreateReceiver(
      void* pool_base, int32_t pool_num_blocks, const engine::KvLayout& layout) override {
    if (pool_base == nullptr || pool_num_blocks <= 0 || layout.PoolBytes(1) == 0) {
      return absl::InvalidArgumentError("CreateReceiver needs a pool");
    }
    return std::unique_ptr<KvReceiver>(
        std::make_unique<InProcessReceiver>(pool_base, pool_num_blocks, layout, receivers_));
  }

  absl::StatusOr<std::unique_ptr<KvWriteStream>> StartWrite(const KvTarget& target, KvSource source,
                                                            absl::Time deadline) override {
    RETURN_IF_ERROR(ValidateWrite(kInProcessTransportName, target, source));
    auto state = std::make_shared<StreamState>();
    state->target = target;
    state->source = std::move(source);
    state->deadline = deadline;
    state->requested.assign(target.layout.num_layers, false);
    return std::unique_ptr<KvWriteStream>(
        std::make_unique<InProcessStream>(std::move(state), &worker_, &counters_));
  }

  TransportStats Stats() const override {
    TransportStats stats;
    stats.sending_transfers = counters_.sending.load();
    absl::MutexLock lock(&receivers_->mu);
    stats.live_registrations = static_cast<int64_t>(receivers_->trackers.size());
    stats.dropped_writes = receivers_->dropped_by_gone_receivers;
    for (const ReceiveTracker* tracker : receivers_->trackers) {
      stats.receiving_transfers += tracker->live_transfers();
      stats.landings_in_flight += tracker->landings_in_flight();
      stats.dropped_writes += tracker->dropped_writes();
    }
    return stats;
  }

 private:
  Counters counters_;
  std::shared_ptr<ReceiverSet> receivers_ = std::make_shared<ReceiverSet>();
  Worker worker_;  // Last: stops (draining its tasks) before the counters go away.
};

}  // namespace

absl::StatusOr<std::unique_ptr<KvTransport>> InProcessKvTransport::Create() {
  return std::unique_ptr<KvTransport>(std::make_unique<InProcessKvTransportImpl>());
}

}  // namespace baton::kvtransfer
