// Internal to //kvtransfer/ucx:ucx, not part of its API (that is ucx_kv_transport.h, which
// describes the protocol): the declarations shared by the files that implement UcxKvTransport.
//
//   ucx_transport_impl.cc  construction (Init), the progress thread (Post, RunSync, Loop), timers,
//                          the endpoint cache and endpoint errors, Stats, UcxKvTransport::Create.
//   ucx_receive_side.cc    UcxReceiver, the active-message handlers of a receiver, put-writer
//                          registration (HandlePutBegin, RequestStop), CreateReceiver, pool memory.
//   ucx_send_side.cc       UcxStream, StartWrite and a stream's commands, send requests and their
//                          completion, active-message data, Finish, Cancel, Fail and Settle.
//   ucx_put_writer.cc      The sender's put mode: lanes, remote keys, DecidePut, the grant
//                          handshake, IssuePuts, stopping.
//
// Threading: as ucx_kv_transport.h says. Everything marked "progress thread" is touched only by the
// transport's progress thread.
#pragma once

#include <stdio.h>
#include <ucp/api/ucp.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kvtransfer/kv_transport.h"
#include "kvtransfer/receive_tracker.h"
#include "kvtransfer/ucx/ucx_kv_transport.h"
#include "kvtransfer/ucx/ucx_wire.h"
#include "kvtransfer/write_plan.h"

namespace baton::kvtransfer::ucx_internal {

class UcxTransportImpl;

// An unpacked remote key, shared by the put streams that write through it (progress thread only).
// Unpacking attaches the receiver's memory (for a pool from AllocatePoolMemory UCX maps its
// shared-memory segment), so keys are cached per endpoint: unpacked afresh per transfer, the
// mapping faulted in again each time and put into such a pool ran at 1.7-2.1 GB/s.
struct RemoteKey {
  explicit RemoteKey(ucp_rkey_h key) : rkey(key) {}
  ~RemoteKey() { ucp_rkey_destroy(rkey); }
  RemoteKey(const RemoteKey&) = delete;
  RemoteKey& operator=(const RemoteKey&) = delete;
  const ucp_rkey_h rkey;
};

// One cached connection to a peer worker. Owned by the progress thread.
struct Endpoint {
  std::string address;
  ucp_ep_h ep = nullptr;  // Null once closed.
  absl::Status failure;   // Set when the peer failed.
  // Error mode PEER: UCX reports the peer's failure and the endpoint may be force-closed.
  // UCX 1.13's shared-memory transports cannot do this; their endpoints use mode NONE.
  bool detects_peer_failure = true;
  // From the endpoint's lane table, read on first use: whether any lane uses tcp (UCX 1.13's put
  // over tcp is a slow emulation that also crashed the receiver in our tests), and whether a lane
  // does RMA over the network in hardware (an rma_bw lane that is not tcp, cma or shared memory:
  // RDMA).
  struct Lanes {
    bool tcp = true;
    bool rdma = false;
  };
  std::optional<Lanes> lanes;
  // Unpacked remote keys by their packed bytes (a receiver publishes one per pool); cleared when
  // the endpoint closes, and when it would exceed kMaxCachedRemoteKeys.
  absl::flat_hash_map<std::string, std::shared_ptr<RemoteKey>> remote_keys;
};

constexpr size_t kMaxCachedRemoteKeys = 16;

// A run ready to send: planned and checksummed on the caller's thread.
struct PlannedRun {
  SlabRun run;
  const char* data = nullptr;
  size_t bytes = 0;
  std::optional<uint64_t> checksum;
};

// One stream's state. Immutable fields are set before the stream is shared; everything else
// belongs to the progress thread.
struct SendState {
  // Immutable.
  KvTarget target;
  KvSource source;
  absl::Time deadline;

  // Progress thread only.
  std::shared_ptr<Endpoint> endpoint;
  absl::Status failure;
  std::vector<bool> requested;
  struct PendingLayer {
    int outstanding = 0;
    DoneCallback done;
  };
  absl::flat_hash_map<int32_t, PendingLayer> layers;  // Layers whose done has not run.
  int64_t layers_succeeded = 0;
  std::optional<Completion> finish;
  DoneCallback finish_done;
  bool finish_sent = false;
  int finish_outstanding = 0;
  absl::flat_hash_set<void*> requests;  // Outstanding UCX requests.
  int64_t outstanding_ops = 0;          // Includes immediately-completed ones being handled.
  // Set when requests stuck after a failure were given up on (endpoint without peer-failure
  // detection): their late completions are ignored.
  bool abandoned = false;
  absl::Time force_close_at = absl::InfiniteFuture();

  // Put mode (progress thread).
  enum class PutPhase { kOff, kAwaitGrant, kGranted, kDone };
  bool put_decided = false;
  PutPhase put_phase = PutPhase::kOff;
  uint64_t writer_id = 0;
  std::shared_ptr<RemoteKey> rkey;
  // Set when the receiver's pool is mapped into this process (ucp_rkey_ptr) but the endpoint's
  // lanes are tcp: the puts are plain copies through this pointer (the pool's base address here),
  // the messages go over tcp. Kept alive by `rkey`.
  char* mapped_pool = nullptr;
  struct DeferredLayer {
    int32_t layer;
    std::vector<PlannedRun> runs;
  };
  std::vector<DeferredLayer> deferred;  // Layers written before the grant arrived.
  bool stop_started = false;            // The final flush + kStoppedAm were started.
};

enum class OpKind {
  kLayerData,   // An AM run, or a put run's kPutLanded announcement.
  kPutData,     // One ucp_put_nbx of a run.
  kLayerFlush,  // The flush after a layer's puts; then its runs are announced.
  kFinishMessage,
  kFlush,
  kAbortMessage,
  kPutBegin,   // The put-writer registration.
  kStopFlush,  // The flush before kStoppedAm.
  kStoppedMessage,
};

// The user_data of one send-side UCX request.
struct SendOp {
  UcxTransportImpl* transport;
  std::shared_ptr<SendState> state;
  OpKind kind;
  int32_t layer = -1;
  ucx_wire::DataHeader data_header;
  ucx_wire::ControlHeader control_header;
  ucx_wire::PutHeader put_header;
  std::string payload;           // kFinishMessage: Completion::payload, sent after the header.
  std::vector<PlannedRun> runs;  // kLayerFlush: the runs to announce.
  void* request = nullptr;
};

// The parameters of a send-side UCX request that completes through OnSendOpDone with `op`; with
// `host_memory`, its buffer is host memory.
ucp_request_param_t SendParams(SendOp* op, bool host_memory);

// The text a UCX print function (ucp_ep_print_info, ucp_context_print_info) writes into the
// stream it is given; empty when it cannot be captured. UCX 1.13 has no query for an endpoint's
// lanes or a context's transports: these printouts are how we learn them.
std::string CaptureUcxPrint(absl::FunctionRef<void(FILE*)> print);

class UcxReceiver;

class UcxTransportImpl : public UcxKvTransport {
 public:
  explicit UcxTransportImpl(const Options& options) : options_(options) {}
  ~UcxTransportImpl() override;

  absl::Status Init();

  TransportCapabilities Capabilities() const override {
    TransportCapabilities caps;
    caps.name = kUcxTransportName;
    caps.host_memory = true;
    caps.checksums = true;
    caps.zero_copy_receive = true;
    caps.cross_process = true;
    return caps;
  }

  absl::StatusOr<std::unique_ptr<KvReceiver>> CreateReceiver(
      void* pool_base, int32_t pool_num_blocks, const engine::KvLayout& layout) override;

  absl::StatusOr<engine::PoolMemory> AllocatePoolMemory(size_t bytes) override;

  absl::StatusOr<std::unique_ptr<KvWriteStream>> StartWrite(const KvTarget& target, KvSource source,
                                                            absl::Time deadline) override;

  TransportStats Stats() const override;

  // Runs `task` on the progress thread (in order).
  void Post(absl::AnyInvocable<void() &&> task);
  // Runs `task` on the progress thread and waits for it. Not from the progress thread.
  void RunSync(absl::AnyInvocable<void() &&> task);
  // Keeps the progress thread polling (not sleeping) for at least `duration` from now.
  void PollFor(absl::Duration duration);

  const std::string& worker_address() const { return worker_address_; }
  ucp_context_h context() const { return context_; }
  ucp_worker_h worker() const { return worker_; }
  const Options& options() const { return options_; }

  // Progress thread: the commands of a stream.
  void DoWriteLayer(const std::shared_ptr<SendState>& state, int32_t layer,
                    std::vector<PlannedRun> runs, DoneCallback done);
  void DoFinish(const std::shared_ptr<SendState>& state, Completion completion, DoneCallback done);
  void DoCancel(const std::shared_ptr<SendState>& state);

  // Progress thread: a send-side request ended.
  void OnSendOpDone(SendOp* op, ucs_status_t status);
  // Progress thread: a peer endpoint failed.
  void OnEndpointError(ucp_ep_h ep, ucs_status_t status);

  // The mapping of memory this transport allocated (AllocatePoolMemory) that holds [base, base +
  // bytes), or null.
  ucp_mem_h AllocatedMemh(const void* base, size_t bytes) const;

  // Receivers by pool base address; the AM handlers look them up under the lock, which keeps
  // the receiver alive until its landing is counted.
  mutable absl::Mutex receivers_mu_;
  absl::flat_hash_map<uint64_t, UcxReceiver*> receivers_ ABSL_GUARDED_BY(receivers_mu_);
  std::atomic<int64_t> unrouted_drops_{0};

  // Receiving side, progress thread: sends `header` to the worker at `address`, fire and forget.
  // False if no endpoint could be made.
  bool SendToPeer(const std::string& address, unsigned am_id, const ucx_wire::PutHeader& header);
  // Receiving side: asks put writer `writer` of transfer `id` of pool `pool_base` to stop.
  void RequestStop(uint64_t pool_base, TransferId id, uint64_t writer);

 private:
  // UCP active-message handlers (ucp_am_recv_callback_t), one per ucx_wire message id.
  using AmHandler = std::remove_pointer_t<ucp_am_recv_callback_t>;
  static AmHandler OnDataAm, OnFinishAm, OnAbortAm, OnPutBeginAm, OnPutReplyAm, OnStopAm,
      OnStoppedAm;
  // Runs `fn(tracker)` for the receiver of pool `pool_base`, if any, under receivers_mu_.
  template <typename Fn>
  void WithTracker(uint64_t pool_base, Fn&& fn);

  // Put mode, sending side (progress thread).
  const Endpoint::Lanes& LanesOf(Endpoint& endpoint);
  // The endpoint's cached unpacking of `packed` (unpacked now if new).
  absl::StatusOr<std::shared_ptr<RemoteKey>> UnpackRemoteKey(Endpoint& endpoint,
                                                             const std::string& packed);
  // Once per stream, when it is connected: chooses put or AM; for put, registers the writer.
  void DecidePut(const std::shared_ptr<SendState>& state);
  void IssuePuts(const std::shared_ptr<SendState>& state, int32_t layer,
                 std::vector<PlannedRun> runs);
  // IssuePuts for a pool mapped behind tcp lanes: copies, then the announcing flush.
  void CopyIntoMappedPool(const std::shared_ptr<SendState>& state, int32_t layer,
                          std::vector<PlannedRun> runs);
  // Sends one data message per run of `layer` (the bytes, or with `announce` a payload-less
  // kPutLanded announcement of runs already put), counted in the layer's outstanding work.
  void SendRunMessages(const std::shared_ptr<SendState>& state, int32_t layer,
                       const std::vector<PlannedRun>& runs, bool announce);
  void HandlePutReply(uint64_t writer, uint32_t code);
  // Receiving side: a writer asks to put into a transfer; registers it (or not) and replies.
  void HandlePutBegin(const std::string& address, const ucx_wire::PutHeader& header);
  void HandleStop(uint64_t writer);
  // A failed, granted put stream with nothing in flight: flush, then tell the receiver.
  void MaybeSendStopped(const std::shared_ptr<SendState>& state);
  // Stops waiting for a grant that may never come (peer dead or stuck).
  void GiveUpGrant(const std::shared_ptr<SendState>& state);
  void SendPutHeader(const std::shared_ptr<SendState>& state, OpKind kind, unsigned am_id,
                     const void* payload, size_t payload_bytes);
  void ReleasePutState(const std::shared_ptr<SendState>& state);
  // Flushes the stream's endpoint as one op of `kind` (`layer` and `runs` for kLayerFlush).
  void StartFlush(const std::shared_ptr<SendState>& state, OpKind kind, int32_t layer,
                  std::vector<PlannedRun> runs);

  void Loop();
  bool RunPosted();
  void CheckTimers(absl::Time now, absl::Time* next);
  void ReapClosedEndpoints();
  absl::StatusOr<std::shared_ptr<Endpoint>> GetEndpoint(const std::string& address);
  void CloseEndpoint(const std::shared_ptr<Endpoint>& endpoint, bool force);
  void Fail(const std::shared_ptr<SendState>& state, absl::Status why);
  // Registers the stream as active, applies its deadline and connects it; false if failed.
  bool Track(const std::shared_ptr<SendState>& state);
  // Runs the done callbacks that are due and drops finished streams from `streams_`.
  void Settle(const std::shared_ptr<SendState>& state);
  void SendFinishIfReady(const std::shared_ptr<SendState>& state);
  // Tracks a just-issued send: completes it now if UCX finished (or failed) it at once.
  void StartOp(SendOp* op, ucs_status_ptr_t result);
  // A ControlHeader message (kFinishAm, kAbortAm), with `payload` (kFinishAm only) as its data.
  void SendControl(const std::shared_ptr<SendState>& state, OpKind kind, unsigned am_id,
                   int32_t first_token, std::string payload);

  const Options options_;
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  std::string worker_address_;        // The UCP worker address.
  int worker_fd_ = -1;
  int wake_fd_ = -1;
  int epoll_fd_ = -1;
  std::thread thread_;
  std::thread::id thread_id_;

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> posted_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_posted_{false};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Progress thread only.
  absl::flat_hash_map<std::string, std::shared_ptr<Endpoint>> endpoints_;
  absl::flat_hash_map<SendState*, std::shared_ptr<SendState>> streams_;
  std::vector<void*> closing_;  // ep-close requests still running.
  // Sending side: put streams by writer id, until they finished, stopped or failed for good.
  absl::flat_hash_map<uint64_t, std::shared_ptr<SendState>> put_streams_;
  uint64_t next_writer_id_ = 0;
  // Sending side: writers that stopped waiting for their grant: receiver address, header.
  absl::flat_hash_map<uint64_t, std::pair<std::string, ucx_wire::PutHeader>> late_grants_;
  // Receiving side: registered put writers, by writer id.
  struct RemoteWriter {
    std::string address;
    uint64_t pool_base = 0;
    TransferId transfer_id = 0;
  };
  absl::flat_hash_map<uint64_t, RemoteWriter> remote_writers_;

  std::atomic<int64_t> sending_{0};
  // PollFor: the progress thread does not sleep before this time (absl::ToUnixNanos).
  std::atomic<int64_t> poll_until_ns_{0};

  // Memory from AllocatePoolMemory: base -> (mapping, length).
  mutable absl::Mutex allocated_mu_;
  absl::flat_hash_map<uintptr_t, std::pair<ucp_mem_h, size_t>> allocated_
      ABSL_GUARDED_BY(allocated_mu_);
};

// ---------------------------------------------------------------------------------------------
// Receiver.

class UcxReceiver : public KvReceiver {
 public:
  // `packed_rkey` empty: puts are not accepted. `owns_memh`: unmap `memh` when destroyed (false
  // when it maps memory from AllocatePoolMemory, which unmaps it when released).
  UcxReceiver(UcxTransportImpl* transport, void* base, int32_t num_blocks,
              const engine::KvLayout& layout, ucp_mem_h memh, bool owns_memh,
              std::string packed_rkey);
  ~UcxReceiver() override;

  absl::StatusOr<KvTarget> ExpectTransfer(TransferId id, std::vector<int32_t> block_ids,
                                          ExpectOptions options,
                                          ReceiveCallback on_complete) override;

  void Abort(TransferId id) override;
  void ExtendDeadline(TransferId id, absl::Time deadline) override;

  ReceiveTracker& tracker() { return tracker_; }
  ucp_mem_h memh() const { return memh_; }
  bool accepts_puts() const { return !packed_rkey_.empty(); }

 private:
  UcxTransportImpl* const transport_;
  const ucp_mem_h memh_;
  const bool owns_memh_;
  const std::string packed_rkey_;
  ReceiveTracker tracker_;
};

template <typename Fn>
void UcxTransportImpl::WithTracker(uint64_t pool_base, Fn&& fn) {
  absl::MutexLock lock(&receivers_mu_);
  auto it = receivers_.find(pool_base);
  if (it != receivers_.end()) fn(it->second->tracker());
}

}  // namespace baton::kvtransfer::ucx_internal
