#include "kvtransfer/testing/fault_injecting_kv_transport.h"

#include <cstring>
#include <deque>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "kvtransfer/write_plan.h"

namespace baton::kvtransfer::testing {
namespace {

// Runs tasks in order on one thread, each after its own delay (so delays add up, like a slow
// link).
class DelayQueue {
 public:
  DelayQueue() : thread_([this] { Loop(); }) {}
  ~DelayQueue() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }
  void Post(absl::Duration delay, absl::AnyInvocable<void() &&> task) {
    absl::MutexLock lock(&mu_);
    tasks_.emplace_back(delay, std::move(task));
  }

 private:
  void Loop() {
    while (true) {
      std::pair<absl::Duration, absl::AnyInvocable<void() &&>> task;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](DelayQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) {
              return q->stopping_ || !q->tasks_.empty();
            },
            this));
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      absl::SleepFor(task.first);
      std::move(task.second)();
    }
  }

  absl::Mutex mu_;
  std::deque<std::pair<absl::Duration, absl::AnyInvocable<void() &&>>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Per-stream state; only the DelayQueue thread touches it.
struct FaultState {
  FaultPlan plan;
  KvSource source;  // The caller's.
  std::vector<char> shadow;
  std::unique_ptr<KvWriteStream> inner;
  uint64_t bytes_sent = 0;
  bool dark = false;    // Dropping everything.
  bool failed = false;  // fail_after_bytes tripped.
};

class FaultStream : public KvWriteStream {
 public:
  FaultStream(std::shared_ptr<FaultState> state, DelayQueue* queue, TransferId id)
      : state_(std::move(state)), queue_(queue), id_(id) {}

  TransferId id() const override { return id_; }

  void WriteLayer(int32_t layer, DoneCallback done) override {
    queue_->Post(state_->plan.delay_per_layer,
                 [state = state_, layer, done = std::move(done)]() mutable {
                   Forward(*state, layer, std::move(done));
                 });
  }

  void Finish(Completion completion, DoneCallback done) override {
    queue_->Post(absl::ZeroDuration(),
                 [state = state_, completion = std::move(completion),
                  done = std::move(done)]() mutable {
                   if (state->failed)
                     return std::move(done)(absl::UnavailableError("injected failure"));
                   if (state->dark) return std::move(done)(absl::OkStatus());
                   state->inner->Finish(std::move(completion), std::move(done));
                 });
  }

  void Cancel() override {
    queue_->Post(absl::ZeroDuration(), [state = state_] { state->inner->Cancel(); });
  }

 private:
  static void Forward(FaultState& state, int32_t layer, DoneCallback done) {
    const FaultPlan& plan = state.plan;
    const engine::KvLayout& layout = state.source.layout;
    if (state.failed) return std::move(done)(absl::UnavailableError("injected failure"));
    if (plan.drop_from_layer.has_value() && layer >= *plan.drop_from_layer) state.dark = true;
    if (state.dark) return std::move(done)(absl::OkStatus());
    const uint64_t layer_bytes = state.source.block_ids.size() * layout.LayerBlockBytes();
    if (plan.fail_after_bytes.has_value() &&
        state.bytes_sent + layer_bytes > *plan.fail_after_bytes) {
      state.failed = true;
      state.inner->Cancel();
      return std::move(done)(absl::UnavailableError("injected failure after N bytes"));
    }
    state.bytes_sent += layer_bytes;
    if (plan.kill_peer_at_layer.has_value() && layer == *plan.kill_peer_at_layer &&
        plan.kill_peer) {
      plan.kill_peer();
    }
    if (!state.shadow.empty() && layer >= 0 && layer < layout.num_layers) {
      for (int32_t block : state.source.block_ids) {
        const size_t offset = layout.Offset(layer, block, state.source.pool_num_blocks);
        std::memcpy(state.shadow.data() + offset,
                    static_cast<const char*>(state.source.pool_base) + offset,
                    layout.LayerBlockBytes());
        if (layer == plan.corrupt_layer && block == state.source.block_ids.front()) {
          state.shadow[offset + layout.LayerBlockBytes() / 2] ^= 0x5a;
        }
      }
    }
    state.inner->WriteLayer(layer, std::move(done));
  }

  std::shared_ptr<FaultState> state_;
  DelayQueue* queue_;
  TransferId id_;
};

class FaultInjectingKvTransport : public KvTransport {
 public:
  FaultInjectingKvTransport(std::unique_ptr<KvTransport> inner, FaultPlan plan)
      : inner_(std::move(inner)), plan_(std::move(plan)) {}

  TransportCapabilities Capabilities() const override { return inner_->Capabilities(); }

  absl::StatusOr<std::unique_ptr<KvReceiver>> CreateReceiver(
      void* pool_base, int32_t pool_num_blocks, const engine::KvLayout& layout) override {
    return inner_->CreateReceiver(pool_base, pool_num_blocks, layout);
  }

  absl::StatusOr<std::unique_ptr<KvWriteStream>> StartWrite(const KvTarget& target, KvSource source,
                                                            absl::Time deadline) override {
    auto state = std::make_shared<FaultState>();
    state->plan = plan_;
    state->source = source;
    KvSource forwarded = source;
    if (plan_.corrupt_layer.has_value() && source.pool_base != nullptr) {
      state->shadow.assign(source.layout.PoolBytes(source.pool_num_blocks), 0);
      forwarded.pool_base = state->shadow.data();
      forwarded.checksum_base = source.pool_base;
    }
    absl::StatusOr<std::unique_ptr<KvWriteStream>> inner =
        inner_->StartWrite(target, forwarded, deadline);
    if (!inner.ok()) return inner.status();
    state->inner = std::move(*inner);
    return std::unique_ptr<KvWriteStream>(
        std::make_unique<FaultStream>(std::move(state), &queue_, target.transfer_id));
  }

  TransportStats Stats() const override { return inner_->Stats(); }

 private:
  std::unique_ptr<KvTransport> inner_;
  FaultPlan plan_;
  DelayQueue queue_;  // Stops before inner_ goes away (declared after it).
};

}  // namespace

std::unique_ptr<KvTransport> MakeFaultInjectingKvTransport(std::unique_ptr<KvTransport> inner,
                                                           FaultPlan plan) {
  return std::make_unique<FaultInjectingKvTransport>(std::move(inner), std::move(plan));
}

}  // namespace baton::kvtransfer::testing
