// The decode worker's scheduler: admits sequences (remote-prefilled or local), runs them in a
// continuous-batching loop over the engine and streams their tokens.
//
// Life of a sequence:
//   Submit ──► take the prompt's leading cached blocks (prefix cache), reserve the rest
//              (kResourceExhausted at once when short)
//     remote: ExpectTransfer ─► event kv_target ─► KV lands ─► on_complete (first token and
//             its logprobs, streamed at once) ─► ready ─► running
//     local:  event local_prefill ─► waiting (chunked prefill of the uncached suffix,
//             prefill_chunk_tokens per step, between decode steps). A remote request whose
//             uncached suffix is at most local_prefill_max_tokens is served locally too.
//   running: one token per step; a block is added when the sequence crosses a block boundary.
//   ends: an end-of-generation token, max_tokens / context full, Cancel, or an error status.
// Prefix cache: every full block whose KV is complete (arrived, or computed here: prompt and
// generated tokens) is named in the pool, so it stays cached after the sequence ends. A remote
// request's KvTarget lists the cached blocks first (cached_prefix_blocks): the prefill worker
// writes only the blocks after them, and only those are part of the expected transfer (possibly
// none: then only the completion travels). A local prefill reuses at most the full blocks before
// the prompt's last token (whose logits it needs).
// Out of blocks mid-generation, the youngest running sequence is preempted: its blocks are
// freed and it re-enters the waiting queue, to be recomputed (prompt + generated tokens) when
// blocks are free again. A sequence that cannot fit even alone ends with kResourceExhausted.
//
// Leases: a remote reservation ends when its lease has passed on the scheduler's monotonic clock
// (DecodeSchedulerOptions::clock) without a renewal: the scheduler aborts the transfer and the
// request fails with kUnavailable. RenewLease (DecodeService.RenewLease, which the router calls
// while its Prefill call for the transfer runs) starts the lease over. So the lease bounds a
// silent stall, when nobody vouches for the transfer any more (router gone, or its prefill
// calls failed and it gave up), and not the time a prompt waits in a busy prefill worker's
// queue, which only makes the answer slower: failing such a request would turn overload into
// lost work. A stall while the prefill call stays open is bounded by the router's per-attempt
// timeout, after which it stops renewing (or retries elsewhere with the same KvTarget, renewing
// on). A prefill worker or router that dies ends the renewals, so the blocks are still freed.
// The KvTarget carries the lease's wall-clock end as issued; the receiver's own deadline (a
// backstop behind the scheduler's check) is moved along with each renewal. Blocks of a remote
// reservation are only freed after the receiver's on_complete ran (cancel calls
// KvReceiver::Abort and waits for it), so no block is reused while a write into it may still
// land.
//
// Threading: one scheduler thread owns every sequence, the engine and block growth; Submit,
// Cancel, Load and Shutdown are thread-safe and only post to it. Events for a request are pushed
// to its EventQueue from the scheduler thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "decode_worker/decode_metrics.h"
#include "engine/kv_cache/kv_pool.h"
#include "engine/runtime/engine.h"
#include "kvtransfer/kv_transport.h"
#include "proto/baton/internal/v1/decode.pb.h"
#include "serving/event_queue.h"
#include "serving/load_counts.h"
#include "serving/monotonic_clock.h"
#include "serving/sampling.h"
#include "serving/scheduler_loop.h"

namespace baton::decode_worker {

struct DecodeSchedulerOptions {
  // Most sequences in one engine step (decode and prefill chunks together). >= 1.
  int32_t max_batch_size = 32;
  // Most prompt tokens computed locally per step (colocated prefill and recompute). >= 1.
  int32_t prefill_chunk_tokens = 256;
  // Lease on reserved blocks when the request names none.
  absl::Duration default_lease = absl::Seconds(30);
  // Tokens that end a sequence with FINISH_REASON_STOP (unless its request sets ignore_eos),
  // whether the decode worker sampled them or a prefill worker sent them as the first token:
  // the model's end-of-generation set (engine::tokenizer::LoadEndOfGenerationIds). Empty:
  // sequences end only by length.
  std::vector<int32_t> end_of_generation_ids;
  // Ask prefill workers for per-run checksums of the KV and verify them (kDataLoss).
  bool kv_checksum = false;
  // Reuse and keep the KV of full blocks across requests (see above).
  bool prefix_caching = true;
  // kv_cache::PrefixHashSeed of the served model's name (WorkerLoad.model).
  uint64_t prefix_hash_seed = 0;
  // Time source of leases and transfer timings; must outlive the scheduler. Null: SteadyClock.
  const serving::MonotonicClock* clock = nullptr;
};

// One message for a request's stream. A non-OK status ends the stream with that status;
// `last` marks the final (finished) message.
struct DecodeEvent {
  absl::Status status;
  baton::internal::v1::DecodeResponse response;
  bool last = false;
};

using DecodeEventQueue = serving::EventQueue<DecodeEvent>;

struct DecodeJob {
  std::string request_id;
  // Validated by the caller (serving::ValidatePrompt).
  std::vector<int32_t> prompt;
  serving::RequestSampling sampling;
  bool local_prefill = false;
  // When > 0 (and not local_prefill): prefill locally if at most this many prompt tokens are not
  // in the prefix cache.
  int32_t local_prefill_max_tokens = 0;
  // Zero: DecodeSchedulerOptions::default_lease.
  absl::Duration lease = absl::ZeroDuration();
  std::shared_ptr<DecodeEventQueue> events;
};

using DecodeLoad = serving::LoadCounts;

// A renewed lease: its length, and its end on the wall clock (for the caller's records).
struct LeaseRenewal {
  absl::Duration lease;
  absl::Time deadline;
};
using LeaseRenewalCallback = absl::AnyInvocable<void(absl::StatusOr<LeaseRenewal>) &&>;

namespace decode_internal {
struct SubmitCmd {
  uint64_t id = 0;
  DecodeJob job;
};
struct CancelCmd {
  uint64_t id = 0;
};
struct KvArrivedCmd {
  uint64_t id = 0;
  absl::StatusOr<kvtransfer::ReceiveResult> result;
};
struct RenewLeaseCmd {
  uint64_t id = 0;
  LeaseRenewalCallback done;
};
using Command = std::variant<SubmitCmd, CancelCmd, KvArrivedCmd, RenewLeaseCmd>;
}  // namespace decode_internal

class DecodeScheduler final : public serving::SchedulerLoop<decode_internal::Command> {
 public:
  // `engine`, `pool` and `metrics` must outlive the scheduler; `receiver` too, and may be null
  // when only local prefill is served (remote requests then fail with kFailedPrecondition).
  // kInvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<DecodeScheduler>> Create(
      engine::Engine* engine, engine::KvPool* pool, kvtransfer::KvReceiver* receiver,
      DecodeMetrics* metrics, const DecodeSchedulerOptions& options);
  // Cancels whatever still runs (Shutdown with zero grace) and joins the thread.
  ~DecodeScheduler();

  // Queues a request and returns its id (also the transfer id of its KV handoff). Every
  // outcome, errors included, arrives as events on job.events. After Shutdown began, the job
  // fails with kUnavailable.
  uint64_t Submit(DecodeJob job);
  // Ends request `id` with FINISH_REASON_CANCELLED (its blocks are freed, a transfer in flight is
  // aborted). Unknown or finished ids are ignored.
  void Cancel(uint64_t id);
  // Starts the lease of remote reservation `id` over (see Leases above). `done` runs exactly once
  // on the scheduler thread: with the renewal, or kNotFound when `id` is not waiting for its KV
  // (unknown, arrived, failed, expired or cancelled). `done` must not block; a scheduler that
  // already stopped never runs it (the caller bounds its wait).
  void RenewLease(uint64_t id, LeaseRenewalCallback done);
  // Load() is a snapshot refreshed between steps; Shutdown(grace) stops admitting new requests,
  // lets running ones finish for up to `grace`, then cancels the rest and waits until every
  // sequence is gone and every transfer's on_complete ran (both from SchedulerLoop).

 private:
  struct Sequence;
  using SubmitCmd = decode_internal::SubmitCmd;
  using CancelCmd = decode_internal::CancelCmd;
  using KvArrivedCmd = decode_internal::KvArrivedCmd;
  using RenewLeaseCmd = decode_internal::RenewLeaseCmd;

  DecodeScheduler(engine::Engine* engine, engine::KvPool* pool, kvtransfer::KvReceiver* receiver,
                  DecodeMetrics* metrics, const DecodeSchedulerOptions& options);

  void Handle(decode_internal::Command& command) override;
  bool HasWork() const override;
  bool RunStep() override;
  void CancelAll() override;
  bool Drained() const override { return sequences_.empty(); }
  void RefreshLoad() override;
  void OnSubmit(SubmitCmd& cmd);
  void OnCancel(const CancelCmd& cmd);
  void OnKvArrived(KvArrivedCmd& cmd);
  void OnRenewLease(RenewLeaseCmd& cmd);
  // (RunStep moves ready and waiting sequences into the batch, grows blocks, preempts when
  // short, runs one engine step and samples.)
  // Makes the table of `seq` cover `num_tokens`, preempting running sequences younger than
  // `seq` when the pool is short. False when it still does not fit.
  bool GrowOrPreempt(Sequence& seq, int64_t num_tokens);
  void Preempt(Sequence& seq);
  // Appends a sampled token, streams it with `logprobs` (set exactly when the request asked for
  // them, so every token message carries one per token), and ends the sequence when a stop
  // condition holds. Returns true when the sequence ended.
  bool AcceptToken(Sequence& seq, int32_t token,
                   std::optional<baton::v1::PositionLogprobs> logprobs);
  void Finish(Sequence& seq, baton::v1::FinishReason reason);
  void Fail(Sequence& seq, absl::Status status);
  // Frees the sequence's blocks and forgets it.
  void Remove(uint64_t id);
  // Names the sequence's full blocks whose KV is complete (prefix caching on).
  void PublishBlocks(Sequence& seq);
  // Aborts the transfers whose lease has passed (their on_complete then fails them).
  void ExpireLeases();
  // While transfers are pending the loop wakes up this often to check their leases.
  absl::Duration IdleWait() const override;

  engine::Engine* const engine_;
  engine::KvPool* const pool_;
  kvtransfer::KvReceiver* const receiver_;
  DecodeMetrics* const metrics_;
  const DecodeSchedulerOptions options_;
  const int32_t context_length_;
  const serving::MonotonicClock* const clock_;

  std::atomic<uint64_t> next_id_;

  // Scheduler-thread state.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Sequence>> sequences_;
  std::vector<uint64_t> running_;  // admission order, at most max_batch_size
  std::deque<uint64_t> ready_;     // KV complete, waiting for a batch slot
  std::deque<uint64_t> waiting_;   // to compute locally (colocated prefill or recompute)
  int32_t pending_transfers_ = 0;
  double max_batch_seen_ = 0;
  engine::StepLogits logits_;
};

}  // namespace baton::decode_worker
