// The prefill worker's scheduler: queues prompts, batches them up to a token budget (long
// prompts in chunks), computes them in a scratch KV pool and writes each layer's KV into the
// decode worker's blocks as soon as the layer is computed (Engine::Step's per-layer callback),
// then samples the first token and sends the transfer's completion (the token and, when asked
// for, its logprobs: serving/first_token.h).
//
// Prefix cache: the scratch pool keeps the full blocks of computed prompts (named as they are
// computed), so a prompt starts from the longest cached run of its leading full blocks (up to, not
// including, the block of its last token, whose logits are needed) and computes only the rest.
// The KV of every prompt block is then in the scratch pool; the transfer writes only the blocks
// after the decode worker's own cached prefix (KvTarget.cached_prefix_blocks), possibly none, and
// always sends the completion.
//
// Life of a request:
//   Submit ─► queue ─► computing (one or more chunks; the stream opens with the first chunk)
//     final chunk: WriteLayer(l) from the layer callback for every layer, sample, Finish
//     ─► transferring ─► Finish's done: reply (first token, timings) or the transfer's error.
// Scratch blocks are freed only after every WriteLayer/Finish callback of the request ran (the
// transport may read them until then). A cancelled request is dropped from the queue, or its
// stream is cancelled (the decode worker then sees an aborted transfer). A request whose caller's
// deadline (PrefillJob::deadline) passed before compute started fails with kDeadlineExceeded
// without computing. The lease deadline in the KvTarget does not drop a queued prompt: the router
// renews the decode worker's lease while its call waits here (DecodeService.RenewLease), so a
// prompt that waits longer than one lease in a busy queue is still accepted when its turn comes.
//
// Threading: one scheduler thread owns the queue, the engine and the scratch pool. Submit,
// Cancel, Load and Shutdown are thread-safe and post to it; transport callbacks post to it too.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/kv_cache/kv_pool.h"
#include "engine/runtime/engine.h"
#include "kvtransfer/kv_transport.h"
#include "prefill_worker/prefill_metrics.h"
#include "proto/baton/internal/v1/prefill.pb.h"
#include "serving/event_queue.h"
#include "serving/kv_target_proto.h"
#include "serving/load_counts.h"
#include "serving/sampling.h"
#include "serving/scheduler_loop.h"

namespace baton::prefill_worker {

struct PrefillSchedulerOptions {
  // Most prompt tokens per engine step (over all sequences). >= 1.
  int32_t max_batch_tokens = 512;
  // Most sequences per engine step. >= 1.
  int32_t max_batch_size = 16;
  // Most requests waiting; beyond it Submit fails with kResourceExhausted. >= 1.
  int32_t max_queue = 1024;
  // Testing seam: sleep this long in each layer callback (slows prefill down so tests can kill
  // or cancel mid-prefill). Zero in production.
  absl::Duration testing_layer_delay = absl::ZeroDuration();
  // Reuse and keep the KV of full prompt blocks across requests (see above).
  bool prefix_caching = true;
  // kv_cache::PrefixHashSeed of the served model's name (WorkerLoad.model).
  uint64_t prefix_hash_seed = 0;
};

using PrefillResultQueue =
    serving::EventQueue<absl::StatusOr<baton::internal::v1::PrefillResponse>>;

struct PrefillJob {
  std::string request_id;
  // Validated by the caller (serving::ValidatePrompt); equal in length to target.num_tokens.
  std::vector<int32_t> prompt;
  serving::RequestSampling sampling;
  // Validated and layout-checked by the caller.
  serving::WireKvTarget target;
  // The Prefill call's deadline: a prompt still queued then is dropped, and it bounds the
  // transfer's writes (StartWrite). Not target.lease_deadline, which renewals move on D.
  absl::Time deadline = absl::InfiniteFuture();
  // Receives exactly one result.
  std::shared_ptr<PrefillResultQueue> result;
};

using PrefillLoad = serving::LoadCounts;  // pending_transfers unused

namespace prefill_internal {
struct SubmitCmd {
  uint64_t id = 0;
  PrefillJob job;
};
struct CancelCmd {
  uint64_t id = 0;
};
// A WriteLayer (finish = false) or Finish (finish = true) callback ran.
struct TransferDoneCmd {
  uint64_t id = 0;
  bool finish = false;
  absl::Status status;
};
using Command = std::variant<SubmitCmd, CancelCmd, TransferDoneCmd>;
}  // namespace prefill_internal

class PrefillScheduler final : public serving::SchedulerLoop<prefill_internal::Command> {
 public:
  // `engine`, `pool`, `transport` and `metrics` must outlive the scheduler. kInvalidArgument for
  // bad options.
  static absl::StatusOr<std::unique_ptr<PrefillScheduler>> Create(
      engine::Engine* engine, engine::KvPool* pool, kvtransfer::KvTransport* transport,
      PrefillMetrics* metrics, const PrefillSchedulerOptions& options);
  // Shutdown with zero grace, then joins the thread.
  ~PrefillScheduler();

  // Queues the job and returns its id for Cancel. Errors arrive on job.result: kResourceExhausted
  // (queue full, prompt larger than the scratch pool), kUnavailable (shutting down), the
  // transport's errors (kFailedPrecondition, kUnavailable, kDeadlineExceeded, kAborted).
  uint64_t Submit(PrefillJob job);
  // Drops a queued request or cancels its transfer; its result becomes kCancelled (or the
  // transfer's error). Unknown ids are ignored.
  void Cancel(uint64_t id);
  // Load() is a snapshot refreshed between steps; Shutdown(grace) stops admitting, lets queued
  // and running requests finish for up to `grace`, then cancels the rest and waits for every
  // transfer callback (both from SchedulerLoop).

 private:
  struct Request;
  using SubmitCmd = prefill_internal::SubmitCmd;
  using CancelCmd = prefill_internal::CancelCmd;
  using TransferDoneCmd = prefill_internal::TransferDoneCmd;

  PrefillScheduler(engine::Engine* engine, engine::KvPool* pool, kvtransfer::KvTransport* transport,
                   PrefillMetrics* metrics, const PrefillSchedulerOptions& options);

  void Handle(prefill_internal::Command& command) override;
  bool HasWork() const override { return !queue_.empty() || !computing_.empty(); }
  bool RunStep() override;
  void CancelAll() override;
  bool Drained() const override { return requests_.empty(); }
  void RefreshLoad() override;
  void OnSubmit(SubmitCmd& cmd);
  void OnCancel(const CancelCmd& cmd);
  void OnTransferDone(TransferDoneCmd& cmd);
  // (RunStep picks the batch, runs one step with layer writes, samples and finishes completed
  // prompts; false when no step could run: nothing to do, or no free scratch blocks.)
  // Opens the transfer stream and takes scratch blocks. False (request answered) on failure.
  bool Start(Request& request);
  // Answers the request (once) and forgets it as soon as no transport callback is outstanding.
  void Reply(Request& request, absl::StatusOr<baton::internal::v1::PrefillResponse> result);
  void MaybeForget(Request& request);

  engine::Engine* const engine_;
  engine::KvPool* const pool_;
  kvtransfer::KvTransport* const transport_;
  PrefillMetrics* const metrics_;
  const PrefillSchedulerOptions options_;

  std::atomic<uint64_t> next_id_{1};

  // Scheduler-thread state.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Request>> requests_;
  std::deque<uint64_t> queue_;       // not started
  std::vector<uint64_t> computing_;  // started, chunks left
  engine::StepLogits logits_;
};

}  // namespace baton::prefill_worker
