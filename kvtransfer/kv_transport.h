// The KV transfer seam: moves the KV blocks of one prompt from a prefill worker's pool into the
// blocks a decode worker reserved in its own pool, layer by layer, then delivers a completion
// message carrying the first sampled token and an opaque payload about it.
//
// Decode side (D)                                   Prefill side (P)
//   receiver = transport->CreateReceiver(pool)
//   target = receiver->ExpectTransfer(id, blocks,
//              {deadline, checksum}, on_complete)
//   ... target travels to P over gRPC ...  ──────►   stream = transport->StartWrite(target,
//                                                                source, deadline)
//                                                    for each layer as soon as it is computed:
//                                                      stream->WriteLayer(layer, done)
//                                                    stream->Finish(
//                                                        {first_token, payload}, done)
//   on_complete(ReceiveResult{completion}) ◄────────
//
// Guarantees (every implementation, tested per implementation):
// - Layouts are compared before any byte moves: a mismatch is kFailedPrecondition.
// - D's on_complete runs exactly once. It is OK only when every layer of every block arrived
//   (and passed its checksum when enabled) *and* the sender's completion arrived; a partial
//   transfer is never reported complete. After on_complete has run (whatever its status), no
//   byte of that transfer lands in the pool any more: writes for unknown, aborted or expired
//   transfer ids are dropped, and an abort waits for writes already landing to finish first.
//   Writers the receiver cannot refuse (RMA put into the registered pool) must register with
//   the receiver before writing; on_complete then also waits until each such writer reported
//   that it stopped with its writes flushed, its endpoint failed (peer dead), or a bounded
//   quarantine passed (a transport option; a stuck writer could only write after that). So the
//   blocks may be reused as soon as on_complete runs.
// - Every callback runs exactly once, on a thread owned by the transport, never inline in the
//   call that registered it. Callbacks must not block; they may call the API again.
// - A dead or unreachable peer ends a stream with kUnavailable, a passed deadline with
//   kDeadlineExceeded, a Cancel with kAborted; never a hang.
//
// Threading: every class here is thread-safe unless noted.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/kv_cache/kv_layout.h"
#include "engine/kv_cache/pool_memory.h"
#include "kvtransfer/kv_target.h"

namespace baton::kvtransfer {

// What a transport can do; lets callers pick one and tests skip what does not apply.
struct TransportCapabilities {
  std::string name;                // Equals KvTarget::transport of the targets it makes.
  bool host_memory = true;         // Pools in ordinary host memory.
  bool device_memory = false;      // Pools in GPU memory.
  bool checksums = true;           // Honors KvTarget::checksum.
  bool zero_copy_receive = false;  // Large writes land in the pool without a bounce buffer.
  bool cross_process = false;      // Sender and receiver may live in different processes.
};

// Most bytes of Completion::payload. Small enough to travel eagerly in one message on every
// transport (NCCL sends a fixed-size record of this capacity).
inline constexpr size_t kMaxCompletionPayloadBytes = 4096;

// Sent by P after the last layer; admits the sequence on D.
struct Completion {
  int32_t first_token = -1;
  // Opaque to the transport and delivered verbatim with the token: what the sender wants D to
  // know about it (the workers put the token's logprobs here, so that D streams the token and
  // its logprobs together). At most kMaxCompletionPayloadBytes; empty when there is nothing.
  std::string payload;
};

// What D learns when a transfer completes.
struct ReceiveResult {
  TransferId transfer_id = 0;
  Completion completion;
  uint64_t bytes_received = 0;  // Counted per landed run; a rewritten run counts twice.
};

// The sender's view of its own pool: block source_block_ids[i] of the pool at `pool_base` goes
// to target.block_ids[i]. The memory must stay valid and unchanged for a layer from
// WriteLayer(layer) until that call's `done` has run.
struct KvSource {
  const void* pool_base = nullptr;
  int32_t pool_num_blocks = 0;
  engine::KvLayout layout;
  std::vector<int32_t> block_ids;
  // Testing seam for the fault-injecting decorator: when set, checksums are computed from this
  // pool (same geometry) instead of `pool_base`, so corrupted bytes can be sent under the
  // checksum of the true ones. Production code leaves it null.
  const void* checksum_base = nullptr;
};

// Counters for leak checks: every one returns to zero when the transport is idle and every
// receiver is destroyed.
struct TransportStats {
  int64_t live_registrations = 0;   // Registered pools (receivers alive).
  int64_t sending_transfers = 0;    // Streams whose callbacks have not all run yet.
  int64_t receiving_transfers = 0;  // Expected transfers whose on_complete has not run yet.
  int64_t landings_in_flight = 0;   // Writes currently landing in some pool.
  int64_t dropped_writes = 0;       // Writes dropped (unknown/expired id, bad range). Monotonic.
};

using DoneCallback = absl::AnyInvocable<void(absl::Status) &&>;
using ReceiveCallback = absl::AnyInvocable<void(absl::StatusOr<ReceiveResult>) &&>;

struct ExpectOptions {
  // After this, on_complete runs with kDeadlineExceeded (unless it ran before).
  absl::Time deadline = absl::InfiniteFuture();
  // Ask the sender for checksums and verify them (kDataLoss on mismatch).
  bool checksum = false;
};

// D's side: one registered pool. Destroying it aborts every live transfer (their on_complete
// runs with kAborted), waits until no write is landing, then unregisters the memory. Must not be
// destroyed from inside one of its own callbacks.
class KvReceiver {
 public:
  virtual ~KvReceiver() = default;

  // Starts accepting writes of transfer `id` into `block_ids` (in prompt order) and returns the
  // target to hand to the sender. `block_ids` may be empty (the receiver's prefix cache already
  // holds the prompt's KV): the transfer then completes with the sender's completion alone. on_complete runs exactly once: with the result when the
  // transfer completed; kDeadlineExceeded; kAborted (Abort, the sender cancelled, or the
  // receiver is being destroyed); kDataLoss (a checksum mismatch).
  // Errors (on_complete then never runs): kInvalidArgument for id 0, block ids
  // outside the pool or listed twice; kAlreadyExists if `id` is live; kFailedPrecondition if a
  // block belongs to another live transfer (its writer may still be active).
  virtual absl::StatusOr<KvTarget> ExpectTransfer(TransferId id, std::vector<int32_t> block_ids,
                                                  ExpectOptions options,
                                                  ReceiveCallback on_complete) = 0;

  // Best effort: on_complete runs with kAborted once writes already landing have finished (and
  // registered put writers stopped, see above), unless the transfer completed first. Unknown ids
  // are ignored.
  virtual void Abort(TransferId id) = 0;

  // Moves the deadline of live transfer `id` (ExpectOptions::deadline) to `deadline`: the owner
  // of the blocks renewed its lease on them. Unknown, finished or failing ids are ignored.
  virtual void ExtendDeadline(TransferId id, absl::Time deadline) = 0;
};

// P's side of one transfer. Errors are sticky: after the first failure (peer gone, deadline,
// Cancel) every pending and later callback runs with that status. A `done` only runs after the
// transport stopped reading that layer's source memory. Destroying the handle does not cancel;
// the transfer runs to its end and its callbacks still run.
class KvWriteStream {
 public:
  virtual ~KvWriteStream() = default;

  virtual TransferId id() const = 0;

  // Starts writing layer `layer` of every source block. `done`: OK once the layer has been
  // handed to the receiver; kInvalidArgument for a layer out of range or written twice;
  // kUnavailable, kDeadlineExceeded, kAborted as above.
  virtual void WriteLayer(int32_t layer, DoneCallback done) = 0;

  // Sends the completion once every layer's write has succeeded. Every layer must have been
  // passed to WriteLayer (else kFailedPrecondition); a payload over kMaxCompletionPayloadBytes
  // is kInvalidArgument (and fails the stream). `done` is OK once the completion was
  // delivered to the receiver's transport; the receiver's own verdict reaches D's on_complete.
  virtual void Finish(Completion completion, DoneCallback done) = 0;

  // Best effort: stops sending, tells the receiver (which then aborts the transfer) and fails
  // the stream with kAborted. Bytes already on the wire may still land.
  virtual void Cancel() = 0;
};

class KvTransport {
 public:
  virtual ~KvTransport() = default;

  virtual TransportCapabilities Capabilities() const = 0;

  // Registers the pool [pool_base, pool_base + layout.PoolBytes(pool_num_blocks)) for incoming
  // writes until the receiver is destroyed. The caller keeps ownership of the memory, which
  // must outlive the receiver. kInvalidArgument for a null base or non-positive geometry;
  // kUnavailable/kInternal if the transport cannot register it.
  virtual absl::StatusOr<std::unique_ptr<KvReceiver>> CreateReceiver(
      void* pool_base, int32_t pool_num_blocks, const engine::KvLayout& layout) = 0;

  // Memory for a KV pool, sending or receiving, that this transport moves bytes through best; hand
  // it to engine::KvPool::Create. UCX maps it itself (UCP_MEM_MAP_ALLOCATE: shared memory on one
  // host, so a peer's put or rendezvous read is one memcpy; registered for RDMA). Default:
  // anonymous mmap. The memory must be released (its pool destroyed) before the transport is.
  // kInvalidArgument for 0 bytes; kResourceExhausted when it cannot be had.
  virtual absl::StatusOr<engine::PoolMemory> AllocatePoolMemory(size_t bytes) {
    if (bytes == 0) return absl::InvalidArgumentError("AllocatePoolMemory of 0 bytes");
    return engine::AnonymousPoolMemory(bytes);
  }

  // Opens a stream writing `source` into `target`. Synchronous errors: kInvalidArgument (a
  // malformed target, a target of another transport, source and target block counts differ,
  // source blocks outside the source pool); kFailedPrecondition (layouts differ). The stream
  // fails with kDeadlineExceeded when `deadline` passes before Finish's done.
  virtual absl::StatusOr<std::unique_ptr<KvWriteStream>> StartWrite(const KvTarget& target,
                                                                    KvSource source,
                                                                    absl::Time deadline) = 0;

  virtual TransportStats Stats() const = 0;
};

}  // namespace baton::kvtransfer
