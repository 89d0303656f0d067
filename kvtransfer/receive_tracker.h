// The receiving side's bookkeeping for one registered pool, shared by every transport: which
// transfers are expected, which blocks they own, which (layer, block) slabs arrived, checksum
// verification, deadlines, and exactly-once delivery of on_complete.
//
// A transport's data path calls BeginLanding when a write arrives (learning where its bytes go,
// or that it must be dropped), copies or receives the bytes, then calls EndLanding. A transfer
// completes when every slab arrived and the sender's completion arrived; it fails on abort,
// deadline or checksum mismatch. Either way on_complete runs only once no landing of that
// transfer is in flight, and only then are its blocks free for another transfer: so no byte of
// a finished transfer can land after its on_complete.
//
// Writers the receiver cannot refuse (RMA put straight into the pool) register first
// (AddPutWriter). While a registered writer has not stopped, a decided transfer is held: the
// tracker asks the writer to stop (the stop hook) and delivers on_complete only once every writer
// reported it stopped (PutWriterStopped, or SenderFinished from that writer), or a quarantine grace
// has passed since the outcome was decided.
//
// Threading: all methods are thread-safe. Callbacks run on the tracker's own callback thread,
// never inline. The destructor aborts what is live, waits for landings to drain and for every
// callback to run; it must not run on the callback thread.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/kv_cache/kv_layout.h"
#include "kvtransfer/kv_transport.h"
#include "kvtransfer/write_plan.h"

namespace baton::kvtransfer {

class ReceiveTracker {
 public:
  // Where one arriving write goes. Produced by BeginLanding, consumed by EndLanding.
  struct Landing {
    TransferId transfer_id = 0;
    SlabRun run;
    void* destination = nullptr;
    size_t bytes = 0;
    std::optional<uint64_t> checksum;  // The sender's, to verify after landing.
  };

  // `pool_base` spans layout.PoolBytes(pool_num_blocks) bytes and outlives the tracker.
  ReceiveTracker(void* pool_base, int32_t pool_num_blocks, const engine::KvLayout& layout);
  ~ReceiveTracker();  // Calls Shutdown().
  ReceiveTracker(const ReceiveTracker&) = delete;
  ReceiveTracker& operator=(const ReceiveTracker&) = delete;

  // The target of transfer `id` into this pool: geometry, blocks, deadline and checksum flag from
  // here; the transport then sets its name and worker address (and remote keys, if any).
  KvTarget TargetFor(TransferId id, const std::vector<int32_t>& block_ids,
                     const ExpectOptions& options) const;

  // KvReceiver::ExpectTransfer without the transport's fields: same errors and guarantees.
  absl::Status Expect(TransferId id, std::vector<int32_t> block_ids, ExpectOptions options,
                      ReceiveCallback on_complete);

  // Aborts every live transfer (kAborted), waits until no landing is in flight and every
  // callback ran, and stops the callback thread. Later Expect calls fail with kUnavailable and
  // later landings are dropped. Idempotent. Must not run on the callback thread.
  void Shutdown();

  // Fails transfer `id` with `why` (once landings drain). Unknown or finished ids are ignored.
  void Fail(TransferId id, absl::Status why);

  // KvReceiver::ExtendDeadline: same contract.
  void ExtendDeadline(TransferId id, absl::Time deadline);

  // A write of `bytes` bytes for `run` of transfer `id` arrived. Returns where to put it, or an
  // error meaning "drop it": kNotFound (unknown, finished or failing transfer),
  // kInvalidArgument (layer or index range outside the transfer, blocks not consecutive, byte
  // count not the run's), kDataLoss (the transfer wants checksums and the write has none).
  // After OK the caller must call EndLanding exactly once.
  absl::StatusOr<Landing> BeginLanding(TransferId id, const SlabRun& run, size_t bytes,
                                       std::optional<uint64_t> checksum);

  // The bytes of `landing` are in place (`status` OK) or the transport failed to deliver them
  // (the slabs stay missing; a retry may rewrite them before the deadline). Verifies the
  // checksum when there is one: a mismatch fails the transfer with kDataLoss.
  void EndLanding(const Landing& landing, absl::Status status);

  // The sender's completion arrived (ignored for unknown ids). A nonzero `writer` is a put writer,
  // which has stopped writing by the time it sends its completion.
  void SenderFinished(TransferId id, Completion completion, uint64_t writer = 0);

  // Put writers. Set once, before any AddPutWriter: `stop_writer(id, writer)` is called (under the
  // tracker's lock: it must not call back into the tracker) once per registered writer of a decided
  // transfer that has not stopped; `quarantine` bounds how long such a transfer is held.
  void SetPutWriterPolicy(absl::Duration quarantine,
                          absl::AnyInvocable<void(TransferId, uint64_t)> stop_writer);
  // Registers `writer` (nonzero) as about to write into transfer `id` by means the tracker does not
  // see. kNotFound if the transfer is unknown, finished, failing or already completed: the writer
  // must not write.
  absl::Status AddPutWriter(TransferId id, uint64_t writer);
  // `writer` has stopped: every byte it wrote has landed and it writes no more. Unknown ids or
  // writers are ignored.
  void PutWriterStopped(TransferId id, uint64_t writer);
  // Whether `id` has not been delivered yet.
  bool IsLive(TransferId id) const;

  int64_t live_transfers() const;
  int64_t landings_in_flight() const;
  int64_t dropped_writes() const;

  const engine::KvLayout& layout() const { return layout_; }
  int32_t pool_num_blocks() const { return pool_num_blocks_; }
  void* pool_base() const { return pool_base_; }

 private:
  struct Transfer {
    std::vector<int32_t> block_ids;
    ExpectOptions options;
    ReceiveCallback on_complete;
    std::vector<uint8_t> arrived;  // [layer * blocks + index]
    int64_t arrived_count = 0;
    int64_t in_flight = 0;
    uint64_t bytes_received = 0;
    std::optional<Completion> completion;
    std::optional<absl::Status> failure;
    absl::flat_hash_set<uint64_t> put_writers;       // Registered, not stopped.
    absl::flat_hash_set<uint64_t> stop_requested;    // Writers asked to stop.
    absl::Time release_at = absl::InfiniteFuture();  // End of the quarantine once decided.
  };

  // Delivers the transfer's outcome if it is decided and nothing is landing.
  void MaybeFinishLocked(TransferId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailLocked(TransferId id, absl::Status why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CallbackLoop();

  void* const pool_base_;
  const int32_t pool_num_blocks_;
  const engine::KvLayout layout_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  absl::flat_hash_map<TransferId, Transfer> transfers_ ABSL_GUARDED_BY(mu_);
  std::vector<TransferId> block_owner_ ABSL_GUARDED_BY(mu_);  // 0 = free
  std::deque<absl::AnyInvocable<void() &&>> callbacks_ ABSL_GUARDED_BY(mu_);
  int64_t landings_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_writes_ ABSL_GUARDED_BY(mu_) = 0;
  bool running_callbacks_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration put_quarantine_ = absl::Seconds(2);
  absl::AnyInvocable<void(TransferId, uint64_t)> stop_writer_;
  std::thread thread_;
};

}  // namespace baton::kvtransfer
