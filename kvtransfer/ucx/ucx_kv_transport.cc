#include "kvtransfer/ucx/ucx_kv_transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <ucp/api/ucp.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "kvtransfer/checksum.h"
#include "kvtransfer/receive_tracker.h"
#include "kvtransfer/ucx/ucx_settings.h"
#include "kvtransfer/ucx/ucx_status.h"
#include "kvtransfer/ucx/ucx_wire.h"
#include "kvtransfer/write_plan.h"

namespace baton::kvtransfer {
namespace {

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
  std::vector<PlannedRun> runs;  // kLayerFlush: the runs to announce.
  void* request = nullptr;
};

class UcxReceiver;

// The user_data of one rendezvous receive into a pool.
struct RecvOp {
  UcxReceiver* receiver;
  ReceiveTracker::Landing landing;
};

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
  static ucs_status_t OnDataAm(void* arg, const void* header, size_t header_length, void* data,
                               size_t length, const ucp_am_recv_param_t* param);
  static ucs_status_t OnFinishAm(void* arg, const void* header, size_t header_length, void* data,
                                 size_t length, const ucp_am_recv_param_t* param);
  static ucs_status_t OnAbortAm(void* arg, const void* header, size_t header_length, void* data,
                                size_t length, const ucp_am_recv_param_t* param);
  static ucs_status_t OnPutBeginAm(void* arg, const void* header, size_t header_length, void* data,
                                   size_t length, const ucp_am_recv_param_t* param);
  static ucs_status_t OnPutReplyAm(void* arg, const void* header, size_t header_length, void* data,
                                   size_t length, const ucp_am_recv_param_t* param);
  static ucs_status_t OnStopAm(void* arg, const void* header, size_t header_length, void* data,
                               size_t length, const ucp_am_recv_param_t* param);
  static ucs_status_t OnStoppedAm(void* arg, const void* header, size_t header_length, void* data,
                                  size_t length, const ucp_am_recv_param_t* param);

  // Put mode, sending side (progress thread).
  const Endpoint::Lanes& LanesOf(Endpoint& endpoint);
  // The endpoint's cached unpacking of `packed` (unpacked now if new).
  absl::StatusOr<std::shared_ptr<RemoteKey>> UnpackRemoteKey(Endpoint& endpoint,
                                                             const std::string& packed);
  // Once per stream, when it is connected: chooses put or AM; for put, registers the writer.
  void DecidePut(const std::shared_ptr<SendState>& state);
  void IssuePuts(const std::shared_ptr<SendState>& state, int32_t layer,
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
  void SendControl(const std::shared_ptr<SendState>& state, OpKind kind, unsigned am_id,
                   int32_t first_token);

  const Options options_;
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  std::string worker_address_;
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
              std::string packed_rkey)
      : transport_(transport),
        memh_(memh),
        owns_memh_(owns_memh),
        packed_rkey_(std::move(packed_rkey)),
        tracker_(base, num_blocks, layout) {
    const uint64_t pool = reinterpret_cast<uint64_t>(base);
    tracker_.SetPutWriterPolicy(transport->options().put_quarantine,
                                [transport, pool](TransferId id, uint64_t writer) {
                                  transport->RequestStop(pool, id, writer);
                                });
  }

  ~UcxReceiver() override {
    // Aborts what is live and waits for landings and put writers (whose kStoppedAm must still reach
    // this receiver), then delivers every on_complete. New writes are refused meanwhile.
    tracker_.Shutdown();
    {
      absl::MutexLock lock(&transport_->receivers_mu_);
      transport_->receivers_.erase(reinterpret_cast<uint64_t>(tracker_.pool_base()));
    }
    if (owns_memh_) transport_->RunSync([this] { ucp_mem_unmap(transport_->context(), memh_); });
  }

  absl::StatusOr<KvTarget> ExpectTransfer(TransferId id, std::vector<int32_t> block_ids,
                                          ExpectOptions options,
                                          ReceiveCallback on_complete) override {
    KvTarget target;
    target.transport = kUcxTransportName;
    target.worker_address = transport_->worker_address();
    target.base_address = reinterpret_cast<uint64_t>(tracker_.pool_base());
    target.pool_num_blocks = tracker_.pool_num_blocks();
    target.block_ids = block_ids;
    target.layout = tracker_.layout();
    target.transfer_id = id;
    target.checksum = options.checksum;
    target.lease_deadline = options.deadline;
    if (!packed_rkey_.empty()) target.remote_keys = {packed_rkey_};
    RETURN_IF_ERROR(tracker_.Expect(id, std::move(block_ids), options, std::move(on_complete)));
    return target;
  }

  void Abort(TransferId id) override {
    tracker_.Fail(id, absl::AbortedError(absl::StrCat("transfer ", id, " aborted by receiver")));
  }

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

void OnRecvDone(void* request, ucs_status_t status, size_t /*length*/, void* user_data) {
  auto* op = static_cast<RecvOp*>(user_data);
  op->receiver->tracker().EndLanding(op->landing, UcsToStatus(status, "rendezvous receive"));
  delete op;
  ucp_request_free(request);
}

ucs_status_t UcxTransportImpl::OnDataAm(void* arg, const void* header, size_t header_length,
                                        void* data, size_t length,
                                        const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxTransportImpl*>(arg);
  const bool rndv = (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0;
  auto parsed = ucx_wire::Parse<ucx_wire::DataHeader>(header, header_length);
  if (!parsed.has_value()) {
    self->unrouted_drops_.fetch_add(1);
    return rndv ? UCS_ERR_INVALID_PARAM : UCS_OK;
  }
  UcxReceiver* receiver = nullptr;
  absl::StatusOr<ReceiveTracker::Landing> landing;
  {
    absl::MutexLock lock(&self->receivers_mu_);
    auto it = self->receivers_.find(parsed->pool_base);
    if (it == self->receivers_.end()) {
      self->unrouted_drops_.fetch_add(1);
      return rndv ? UCS_ERR_CANCELED : UCS_OK;
    }
    receiver = it->second;
    std::optional<uint64_t> checksum;
    if (parsed->flags & ucx_wire::kHasChecksum) checksum = parsed->checksum;
    const SlabRun run{parsed->layer, parsed->first_index, parsed->count};
    if (parsed->flags & ucx_wire::kPutLanded) {
      // The run's bytes were put into the pool and flushed before this announcement.
      if (rndv || length != 0 || run.count <= 0) {
        self->unrouted_drops_.fetch_add(1);
        return rndv ? UCS_ERR_INVALID_PARAM : UCS_OK;
      }
      length = RunBytes(receiver->tracker().layout(), run);
      landing = receiver->tracker().BeginLanding(parsed->transfer_id, run, length, checksum);
      if (landing.ok()) receiver->tracker().EndLanding(*landing, absl::OkStatus());
      return UCS_OK;
    }
    landing = receiver->tracker().BeginLanding(parsed->transfer_id, run, length, checksum);
  }
  if (!landing.ok()) {
    // Refused (unknown/finished transfer, bad range): a rendezvous sender learns it.
    if (!rndv) return UCS_OK;
    return landing.status().code() == absl::StatusCode::kInvalidArgument ? UCS_ERR_INVALID_PARAM
                                                                         : UCS_ERR_CANCELED;
  }
  if (!rndv) {
    std::memcpy(landing->destination, data, length);
    receiver->tracker().EndLanding(*landing, absl::OkStatus());
    return UCS_OK;
  }
  auto* op = new RecvOp{receiver, *landing};
  ucp_request_param_t rp = {};
  rp.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                    UCP_OP_ATTR_FIELD_MEMH | UCP_OP_ATTR_FIELD_MEMORY_TYPE;
  rp.cb.recv_am = OnRecvDone;
  rp.user_data = op;
  rp.memh = receiver->memh();
  rp.memory_type = UCS_MEMORY_TYPE_HOST;
  ucs_status_ptr_t result =
      ucp_am_recv_data_nbx(self->worker_, data, landing->destination, length, &rp);
  if (result == nullptr || UCS_PTR_IS_ERR(result)) {
    receiver->tracker().EndLanding(
        *landing,
        UcsToStatus(result == nullptr ? UCS_OK : UCS_PTR_STATUS(result), "ucp_am_recv_data_nbx"));
    delete op;
  }
  return UCS_INPROGRESS;
}

ucs_status_t UcxTransportImpl::OnFinishAm(void* arg, const void* header, size_t header_length,
                                          void*, size_t, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxTransportImpl*>(arg);
  auto parsed = ucx_wire::Parse<ucx_wire::ControlHeader>(header, header_length);
  if (!parsed.has_value()) return UCS_OK;
  absl::MutexLock lock(&self->receivers_mu_);
  auto it = self->receivers_.find(parsed->pool_base);
  if (it != self->receivers_.end()) {
    it->second->tracker().SenderFinished(parsed->transfer_id, Completion{parsed->first_token},
                                         parsed->writer_id);
  }
  if (parsed->writer_id != 0) self->remote_writers_.erase(parsed->writer_id);
  return UCS_OK;
}

ucs_status_t UcxTransportImpl::OnPutBeginAm(void* arg, const void* header, size_t header_length,
                                            void* data, size_t length,
                                            const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxTransportImpl*>(arg);
  auto parsed = ucx_wire::Parse<ucx_wire::PutHeader>(header, header_length);
  if ((param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0) return UCS_ERR_INVALID_PARAM;
  if (!parsed.has_value() || parsed->writer_id == 0 || length == 0) {
    self->unrouted_drops_.fetch_add(1);
    return UCS_OK;
  }
  // Decided outside the AM callback, where an endpoint back to the writer can be made.
  self->Post([self, address = std::string(static_cast<const char*>(data), length),
              header = *parsed] { self->HandlePutBegin(address, header); });
  return UCS_OK;
}

void UcxTransportImpl::HandlePutBegin(const std::string& address,
                                      const ucx_wire::PutHeader& header) {
  ucx_wire::PutHeader reply = header;
  reply.code = ucx_wire::kRefused;
  absl::StatusOr<std::shared_ptr<Endpoint>> endpoint = GetEndpoint(address);
  if (!endpoint.ok() || (*endpoint)->ep == nullptr) {
    LOG(WARNING) << "KV transfer " << header.transfer_id << ": cannot reach a put writer";
    return;  // It gives up on its grant after its deadline.
  }
  // Puts over tcp are refused whatever the writer thinks (UCX's emulation is slow and crashed
  // the receiving process in our tests).
  const bool acceptable = !LanesOf(**endpoint).tcp;
  {
    absl::MutexLock lock(&receivers_mu_);
    // Forget writers of transfers delivered without their kStoppedAm (quarantine, dead peer).
    for (auto it = remote_writers_.begin(); it != remote_writers_.end();) {
      auto current = it++;
      auto r = receivers_.find(current->second.pool_base);
      if (r == receivers_.end() || !r->second->tracker().IsLive(current->second.transfer_id)) {
        remote_writers_.erase(current);
      }
    }
    auto it = receivers_.find(header.pool_base);
    if (it == receivers_.end() || !it->second->accepts_puts() || !acceptable) {
      unrouted_drops_.fetch_add(1);
    } else if (it->second->tracker().AddPutWriter(header.transfer_id, header.writer_id).ok()) {
      reply.code = ucx_wire::kGranted;
      remote_writers_[header.writer_id] =
          RemoteWriter{address, header.pool_base, header.transfer_id};
    }
  }
  if (!SendToPeer(address, ucx_wire::kPutReplyAm, reply)) {
    LOG(WARNING) << "KV transfer " << header.transfer_id << ": cannot answer a put writer";
  }
}

ucs_status_t UcxTransportImpl::OnStoppedAm(void* arg, const void* header, size_t header_length,
                                           void*, size_t, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxTransportImpl*>(arg);
  auto parsed = ucx_wire::Parse<ucx_wire::PutHeader>(header, header_length);
  if (!parsed.has_value()) return UCS_OK;
  self->remote_writers_.erase(parsed->writer_id);
  absl::MutexLock lock(&self->receivers_mu_);
  auto it = self->receivers_.find(parsed->pool_base);
  if (it != self->receivers_.end()) {
    it->second->tracker().PutWriterStopped(parsed->transfer_id, parsed->writer_id);
  }
  return UCS_OK;
}

ucs_status_t UcxTransportImpl::OnPutReplyAm(void* arg, const void* header, size_t header_length,
                                            void*, size_t, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxTransportImpl*>(arg);
  auto parsed = ucx_wire::Parse<ucx_wire::PutHeader>(header, header_length);
  if (!parsed.has_value()) return UCS_OK;
  self->Post([self, writer = parsed->writer_id, code = parsed->code] {
    self->HandlePutReply(writer, code);
  });
  return UCS_OK;
}

ucs_status_t UcxTransportImpl::OnStopAm(void* arg, const void* header, size_t header_length, void*,
                                        size_t, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxTransportImpl*>(arg);
  auto parsed = ucx_wire::Parse<ucx_wire::PutHeader>(header, header_length);
  if (!parsed.has_value()) return UCS_OK;
  self->Post([self, writer = parsed->writer_id] { self->HandleStop(writer); });
  return UCS_OK;
}

struct FireOp {
  ucx_wire::PutHeader header;
};

void OnFireDone(void* request, ucs_status_t, void* user_data) {
  delete static_cast<FireOp*>(user_data);
  ucp_request_free(request);
}

bool UcxTransportImpl::SendToPeer(const std::string& address, unsigned am_id,
                                  const ucx_wire::PutHeader& header) {
  absl::StatusOr<std::shared_ptr<Endpoint>> endpoint = GetEndpoint(address);
  if (!endpoint.ok() || (*endpoint)->ep == nullptr) return false;
  auto* op = new FireOp{header};
  ucp_request_param_t param = {};
  param.op_attr_mask =
      UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS;
  param.cb.send = &OnFireDone;
  param.user_data = op;
  param.flags = UCP_AM_SEND_FLAG_EAGER;
  ucs_status_ptr_t result =
      ucp_am_send_nbx((*endpoint)->ep, am_id, &op->header, sizeof(op->header), nullptr, 0, &param);
  if (result == nullptr || UCS_PTR_IS_ERR(result)) {
    delete op;
    return result == nullptr;
  }
  return true;
}

void UcxTransportImpl::RequestStop(uint64_t pool_base, TransferId id, uint64_t writer) {
  Post([this, pool_base, id, writer] {
    auto it = remote_writers_.find(writer);
    if (it == remote_writers_.end()) return;  // Already stopped or gone.
    ucx_wire::PutHeader header;
    header.pool_base = pool_base;
    header.transfer_id = id;
    header.writer_id = writer;
    if (!SendToPeer(it->second.address, ucx_wire::kStopAm, header)) {
      LOG(WARNING) << "KV transfer " << id << ": cannot reach a put writer; quarantining";
    }
  });
}

ucs_status_t UcxTransportImpl::OnAbortAm(void* arg, const void* header, size_t header_length, void*,
                                         size_t, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxTransportImpl*>(arg);
  auto parsed = ucx_wire::Parse<ucx_wire::ControlHeader>(header, header_length);
  if (!parsed.has_value()) return UCS_OK;
  absl::MutexLock lock(&self->receivers_mu_);
  auto it = self->receivers_.find(parsed->pool_base);
  if (it != self->receivers_.end()) {
    it->second->tracker().Fail(parsed->transfer_id,
                               absl::AbortedError("transfer cancelled by the sender"));
  }
  return UCS_OK;
}

// ---------------------------------------------------------------------------------------------
// Stream handle.

class UcxStream : public KvWriteStream {
 public:
  UcxStream(UcxTransportImpl* transport, std::shared_ptr<SendState> state)
      : transport_(transport), state_(std::move(state)) {}

  TransferId id() const override { return state_->target.transfer_id; }

  void WriteLayer(int32_t layer, DoneCallback done) override {
    // Plan and checksum here, on the caller's thread, to keep the progress thread free.
    std::vector<PlannedRun> runs;
    const KvTarget& target = state_->target;
    const KvSource& source = state_->source;
    if (layer >= 0 && layer < source.layout.num_layers) {
      for (const SlabRun& run : PlanLayer(source.block_ids, target.block_ids, layer,
                                          transport_->options().max_run_blocks)) {
        PlannedRun planned;
        planned.run = run;
        const size_t offset =
            RunOffset(source.layout, source.pool_num_blocks, source.block_ids, run);
        planned.data = static_cast<const char*>(source.pool_base) + offset;
        planned.bytes = RunBytes(source.layout, run);
        if (target.checksum) {
          const char* sum_from = source.checksum_base != nullptr
                                     ? static_cast<const char*>(source.checksum_base) + offset
                                     : planned.data;
          planned.checksum = KvChecksum(sum_from, planned.bytes);
        }
        runs.push_back(planned);
      }
    }
    transport_->Post([transport = transport_, state = state_, layer, runs = std::move(runs),
                      done = std::move(done)]() mutable {
      transport->DoWriteLayer(state, layer, std::move(runs), std::move(done));
    });
  }

  void Finish(Completion completion, DoneCallback done) override {
    transport_->Post(
        [transport = transport_, state = state_, completion, done = std::move(done)]() mutable {
          transport->DoFinish(state, completion, std::move(done));
        });
  }

  void Cancel() override {
    transport_->Post([transport = transport_, state = state_] { transport->DoCancel(state); });
  }

 private:
  UcxTransportImpl* const transport_;
  std::shared_ptr<SendState> state_;
};

void OnSendDone(void* request, ucs_status_t status, void* user_data) {
  auto* op = static_cast<SendOp*>(user_data);
  op->request = request;
  op->transport->OnSendOpDone(op, status);
}

void OnEndpointErrorCallback(void* arg, ucp_ep_h ep, ucs_status_t status) {
  static_cast<UcxTransportImpl*>(arg)->OnEndpointError(ep, status);
}

// ---------------------------------------------------------------------------------------------
// Transport.

absl::Status UcxTransportImpl::Init() {
  ucp_config_t* config = nullptr;
  RETURN_IF_ERROR(UcsToStatus(ucp_config_read(nullptr, nullptr, &config), "ucp_config_read"));
  for (const auto& [name, value] : EffectiveUcxSettings(options_.ucx_config, &std::getenv)) {
    const ucs_status_t status = ucp_config_modify(config, name.c_str(), value.c_str());
    if (status != UCS_OK) {
      ucp_config_release(config);
      return absl::InvalidArgumentError(
          absl::StrCat("UCX setting ", name, "=", value, ": ", ucs_status_string(status)));
    }
  }
  ucp_params_t params = {};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED;
  params.features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP;
  if (options_.write_mode != Options::WriteMode::kActiveMessage) params.features |= UCP_FEATURE_RMA;
  params.mt_workers_shared = 0;
  const ucs_status_t init_status = ucp_init(&params, config, &context_);
  ucp_config_release(config);
  if (init_status != UCS_OK) {
    context_ = nullptr;
    return absl::UnavailableError(absl::StrCat("ucp_init: ", ucs_status_string(init_status)));
  }
  ucp_worker_params_t worker_params = {};
  worker_params.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  worker_params.thread_mode = UCS_THREAD_MODE_SINGLE;
  RETURN_IF_ERROR(
      UcsToStatus(ucp_worker_create(context_, &worker_params, &worker_), "ucp_worker_create"));
  ucp_address_t* address = nullptr;
  size_t address_length = 0;
  RETURN_IF_ERROR(UcsToStatus(ucp_worker_get_address(worker_, &address, &address_length),
                              "ucp_worker_get_address"));
  worker_address_.assign(reinterpret_cast<const char*>(address), address_length);
  ucp_worker_release_address(worker_, address);

  struct Handler {
    unsigned id;
    ucp_am_recv_callback_t cb;
  };
  for (const Handler& h :
       {Handler{ucx_wire::kDataAm, &OnDataAm}, Handler{ucx_wire::kFinishAm, &OnFinishAm},
        Handler{ucx_wire::kAbortAm, &OnAbortAm}, Handler{ucx_wire::kPutBeginAm, &OnPutBeginAm},
        Handler{ucx_wire::kPutReplyAm, &OnPutReplyAm}, Handler{ucx_wire::kStopAm, &OnStopAm},
        Handler{ucx_wire::kStoppedAm, &OnStoppedAm}}) {
    ucp_am_handler_param_t hp = {};
    hp.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB |
                    UCP_AM_HANDLER_PARAM_FIELD_ARG;
    hp.id = h.id;
    hp.cb = h.cb;
    hp.arg = this;
    RETURN_IF_ERROR(UcsToStatus(ucp_worker_set_am_recv_handler(worker_, &hp),
                                "ucp_worker_set_am_recv_handler"));
  }

  // Writer ids name a put stream to its receiver; random so that senders in different processes do
  // not collide.
  next_writer_id_ = std::random_device()() | (static_cast<uint64_t>(std::random_device()()) << 32);
  RETURN_IF_ERROR(UcsToStatus(ucp_worker_get_efd(worker_, &worker_fd_), "ucp_worker_get_efd"));
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || epoll_fd_ < 0) return absl::InternalError("eventfd/epoll_create1 failed");
  for (int fd : {worker_fd_, wake_fd_}) {
    epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return absl::InternalError("epoll_ctl failed");
    }
  }
  thread_ = std::thread([this] { Loop(); });
  thread_id_ = thread_.get_id();
  return absl::OkStatus();
}

UcxTransportImpl::~UcxTransportImpl() {
  if (thread_.joinable()) {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    has_posted_.store(true);
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (worker_ != nullptr) ucp_worker_destroy(worker_);
  if (context_ != nullptr) ucp_cleanup(context_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void UcxTransportImpl::Post(absl::AnyInvocable<void() &&> task) {
  {
    absl::MutexLock lock(&mu_);
    posted_.push_back(std::move(task));
  }
  has_posted_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void UcxTransportImpl::RunSync(absl::AnyInvocable<void() &&> task) {
  CHECK(std::this_thread::get_id() != thread_id_) << "RunSync on the progress thread";
  absl::Notification done;
  Post([&task, &done]() mutable {
    std::move(task)();
    done.Notify();
  });
  done.WaitForNotification();
}

bool UcxTransportImpl::RunPosted() {
  if (!has_posted_.load(std::memory_order_acquire)) return false;
  std::deque<absl::AnyInvocable<void() &&>> tasks;
  {
    absl::MutexLock lock(&mu_);
    tasks.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  for (auto& task : tasks) std::move(task)();
  return !tasks.empty();
}

void UcxTransportImpl::Loop() {
  absl::Time last_activity = absl::Now();
  while (true) {
    bool active = RunPosted();
    while (ucp_worker_progress(worker_) != 0) active = true;
    ReapClosedEndpoints();
    const absl::Time now = absl::Now();
    absl::Time next_timer = absl::InfiniteFuture();
    CheckTimers(now, &next_timer);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    if (active) {
      last_activity = now;
      continue;
    }
    if (now - last_activity < options_.spin_before_sleep && next_timer > now) continue;
    if (ucp_worker_arm(worker_) == UCS_ERR_BUSY) continue;
    if (has_posted_.load(std::memory_order_acquire)) continue;
    int timeout_ms = -1;
    if (next_timer != absl::InfiniteFuture()) {
      timeout_ms =
          static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(next_timer - now) + 1));
    }
    epoll_event events[2];
    epoll_wait(epoll_fd_, events, 2, timeout_ms);
    uint64_t drained;
    while (read(wake_fd_, &drained, sizeof(drained)) > 0) {
    }
    last_activity = absl::Now();
  }
  // Shutting down: fail every stream, close every endpoint, let UCX finish what it started.
  std::vector<std::shared_ptr<SendState>> streams;
  for (auto& [ptr, state] : streams_) streams.push_back(state);
  for (auto& state : streams) Fail(state, absl::AbortedError("UCX transport destroyed"));
  std::vector<std::shared_ptr<Endpoint>> endpoints;
  for (auto& [address, endpoint] : endpoints_) endpoints.push_back(endpoint);
  for (auto& endpoint : endpoints) CloseEndpoint(endpoint, /*force=*/true);
  const absl::Time give_up = absl::Now() + absl::Seconds(2);
  while ((!streams_.empty() || !closing_.empty()) && absl::Now() < give_up) {
    RunPosted();
    ucp_worker_progress(worker_);
    ReapClosedEndpoints();
  }
  RunPosted();
  for (auto& [writer, state] : put_streams_) state->rkey.reset();
  put_streams_.clear();
}

void UcxTransportImpl::ReapClosedEndpoints() {
  for (size_t i = 0; i < closing_.size();) {
    if (ucp_request_check_status(closing_[i]) != UCS_INPROGRESS) {
      ucp_request_free(closing_[i]);
      closing_[i] = closing_.back();
      closing_.pop_back();
    } else {
      ++i;
    }
  }
}

void UcxTransportImpl::CheckTimers(absl::Time now, absl::Time* next) {
  if (streams_.empty()) return;
  std::vector<std::shared_ptr<SendState>> due;
  for (auto& [ptr, state] : streams_) {
    if (state->failure.ok()) {
      if (state->deadline <= now) {
        due.push_back(state);
      } else {
        *next = std::min(*next, state->deadline);
      }
    } else if (state->force_close_at != absl::InfiniteFuture()) {
      if (state->force_close_at <= now) {
        due.push_back(state);
      } else {
        *next = std::min(*next, state->force_close_at);
      }
    }
  }
  for (auto& state : due) {
    if (!state->failure.ok() && state->put_phase == SendState::PutPhase::kAwaitGrant) {
      GiveUpGrant(state);
      if (state->outstanding_ops == 0) {
        state->force_close_at = absl::InfiniteFuture();
        Settle(state);
        continue;
      }
    }
    if (state->failure.ok()) {
      Fail(state, absl::DeadlineExceededError(absl::StrCat(
                      "KV transfer ", state->target.transfer_id, " passed its deadline")));
    } else if (state->outstanding_ops > 0 && state->endpoint != nullptr &&
               state->endpoint->detects_peer_failure) {
      state->force_close_at = absl::InfiniteFuture();
      LOG(WARNING) << "KV transfer " << state->target.transfer_id
                   << ": requests still pending after cancel; closing the endpoint";
      CloseEndpoint(state->endpoint, /*force=*/true);
    } else if (state->outstanding_ops > 0) {
      // Force-closing an endpoint without peer-failure handling is undefined behaviour in
      // UCX; give up on its stuck requests instead (they keep `state` alive) and stop using
      // the endpoint.
      LOG(WARNING) << "KV transfer " << state->target.transfer_id
                   << ": abandoning requests stuck after " << state->failure;
      state->force_close_at = absl::InfiniteFuture();
      state->abandoned = true;
      state->outstanding_ops = 0;
      state->finish_outstanding = 0;
      for (auto& [layer, pending] : state->layers) pending.outstanding = 0;
      if (state->endpoint != nullptr) {
        auto it = endpoints_.find(state->endpoint->address);
        if (it != endpoints_.end() && it->second == state->endpoint) endpoints_.erase(it);
      }
      Settle(state);
    } else {
      state->force_close_at = absl::InfiniteFuture();
    }
  }
}

absl::StatusOr<std::shared_ptr<Endpoint>> UcxTransportImpl::GetEndpoint(
    const std::string& address) {
  auto it = endpoints_.find(address);
  if (it != endpoints_.end()) return it->second;
  auto endpoint = std::make_shared<Endpoint>();
  endpoint->address = address;
  ucp_ep_params_t params = {};
  params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                      UCP_EP_PARAM_FIELD_ERR_HANDLER;
  params.address = reinterpret_cast<const ucp_address_t*>(endpoint->address.data());
  params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
  params.err_handler.cb = &OnEndpointErrorCallback;
  params.err_handler.arg = this;
  ucs_status_t status = ucp_ep_create(worker_, &params, &endpoint->ep);
  if (status == UCS_ERR_UNREACHABLE) {
    // No transport to this peer supports peer-failure handling (UCX 1.13 shared memory):
    // connect without it; deadlines then bound what a dead peer can cost.
    params.field_mask &= ~UCP_EP_PARAM_FIELD_ERR_HANDLER;
    params.err_mode = UCP_ERR_HANDLING_MODE_NONE;
    endpoint->detects_peer_failure = false;
    status = ucp_ep_create(worker_, &params, &endpoint->ep);
  }
  if (status != UCS_OK) {
    endpoint->ep = nullptr;
    absl::Status error = UcsToStatus(status, "ucp_ep_create");
    // An address that cannot be reached or parsed both mean: this peer is not usable.
    if (error.code() != absl::StatusCode::kUnavailable) {
      error = absl::UnavailableError(error.message());
    }
    return error;
  }
  endpoints_[address] = endpoint;
  return endpoint;
}

void UcxTransportImpl::CloseEndpoint(const std::shared_ptr<Endpoint>& endpoint, bool force) {
  auto it = endpoints_.find(endpoint->address);
  if (it != endpoints_.end() && it->second == endpoint) endpoints_.erase(it);
  if (endpoint->ep == nullptr) return;
  if (endpoint->failure.ok()) endpoint->failure = absl::UnavailableError("endpoint closed");
  endpoint->remote_keys.clear();  // Streams still putting keep theirs.
  ucp_ep_h ep = endpoint->ep;
  endpoint->ep = nullptr;
  ucp_request_param_t param = {};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  param.flags = force ? UCP_EP_CLOSE_FLAG_FORCE : 0;
  ucs_status_ptr_t request = ucp_ep_close_nbx(ep, &param);
  if (request != nullptr && !UCS_PTR_IS_ERR(request)) closing_.push_back(request);
}

void UcxTransportImpl::OnEndpointError(ucp_ep_h ep, ucs_status_t status) {
  std::shared_ptr<Endpoint> endpoint;
  for (auto& [address, candidate] : endpoints_) {
    if (candidate->ep == ep) endpoint = candidate;
  }
  absl::Status why = UcsToStatus(status, "KV peer failed");
  if (why.code() != absl::StatusCode::kUnavailable) why = absl::UnavailableError(why.message());
  std::vector<std::shared_ptr<SendState>> affected;
  for (auto& [ptr, state] : streams_) {
    if (state->endpoint != nullptr && state->endpoint->ep == ep) affected.push_back(state);
  }
  if (endpoint != nullptr) {
    endpoint->failure = why;
    CloseEndpoint(endpoint, /*force=*/true);
    // Put writers on that peer are dead: they write no more.
    std::vector<std::pair<uint64_t, RemoteWriter>> dead;
    for (const auto& [writer, remote] : remote_writers_) {
      if (remote.address == endpoint->address) dead.emplace_back(writer, remote);
    }
    for (const auto& [writer, remote] : dead) {
      remote_writers_.erase(writer);
      absl::MutexLock lock(&receivers_mu_);
      auto it = receivers_.find(remote.pool_base);
      if (it != receivers_.end())
        it->second->tracker().PutWriterStopped(remote.transfer_id, writer);
    }
  }
  for (auto& state : affected) {
    Fail(state, why);
    GiveUpGrant(state);
    Settle(state);
  }
}

absl::StatusOr<std::unique_ptr<KvReceiver>> UcxTransportImpl::CreateReceiver(
    void* pool_base, int32_t pool_num_blocks, const engine::KvLayout& layout) {
  if (pool_base == nullptr || pool_num_blocks <= 0 || layout.PoolBytes(1) == 0) {
    return absl::InvalidArgumentError("CreateReceiver needs a pool");
  }
  const size_t bytes = layout.PoolBytes(pool_num_blocks);
  ucp_mem_h memh = AllocatedMemh(pool_base, bytes);
  const bool owns_memh = memh == nullptr;
  absl::Status status;
  if (owns_memh) {
    RunSync([&] {
      ucp_mem_map_params_t params = {};
      params.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH;
      params.address = pool_base;
      params.length = bytes;
      status = UcsToStatus(ucp_mem_map(context_, &params, &memh), "ucp_mem_map");
    });
    RETURN_IF_ERROR(status);
  }
  std::string packed_rkey;
  if (options_.write_mode != Options::WriteMode::kActiveMessage) {
    RunSync([&] {
      void* buffer = nullptr;
      size_t size = 0;
      status = UcsToStatus(ucp_rkey_pack(context_, memh, &buffer, &size), "ucp_rkey_pack");
      if (status.ok()) {
        packed_rkey.assign(static_cast<const char*>(buffer), size);
        ucp_rkey_buffer_release(buffer);
      } else if (owns_memh) {
        ucp_mem_unmap(context_, memh);
      }
    });
    RETURN_IF_ERROR(status);
  }
  auto receiver = std::make_unique<UcxReceiver>(this, pool_base, pool_num_blocks, layout, memh,
                                                owns_memh, std::move(packed_rkey));
  {
    absl::MutexLock lock(&receivers_mu_);
    const uint64_t key = reinterpret_cast<uint64_t>(pool_base);
    if (receivers_.contains(key)) {
      return absl::AlreadyExistsError("this pool already has a receiver");
    }
    receivers_[key] = receiver.get();
  }
  return std::unique_ptr<KvReceiver>(std::move(receiver));
}

absl::StatusOr<engine::PoolMemory> UcxTransportImpl::AllocatePoolMemory(size_t bytes) {
  if (bytes == 0) return absl::InvalidArgumentError("AllocatePoolMemory of 0 bytes");
  ucp_mem_h memh = nullptr;
  ucp_mem_attr_t attr = {};
  absl::Status status;
  RunSync([&] {
    ucp_mem_map_params_t params = {};
    params.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH |
                        UCP_MEM_MAP_PARAM_FIELD_FLAGS;
    params.address = nullptr;
    params.length = bytes;
    params.flags = UCP_MEM_MAP_ALLOCATE;
    status = UcsToStatus(ucp_mem_map(context_, &params, &memh), "ucp_mem_map(ALLOCATE)");
    if (!status.ok()) return;
    attr.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS | UCP_MEM_ATTR_FIELD_LENGTH;
    status = UcsToStatus(ucp_mem_query(memh, &attr), "ucp_mem_query");
    if (!status.ok()) ucp_mem_unmap(context_, memh);
  });
  if (!status.ok()) return absl::ResourceExhaustedError(status.message());
  const auto base = reinterpret_cast<uintptr_t>(attr.address);
  if (base % static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)) != 0 || attr.length < bytes) {
    // UCX fell back to the heap: of no use to peers, and not page aligned.
    RunSync([&] { ucp_mem_unmap(context_, memh); });
    LOG(WARNING) << "UCX gave unaligned pool memory; using an anonymous mapping";
    return engine::AnonymousPoolMemory(bytes);
  }
  {
    absl::MutexLock lock(&allocated_mu_);
    allocated_[base] = {memh, attr.length};
  }
  // Page aligned, so a fresh mapping (shared memory, hugetlb or mmap): it reads as zeros.
  return engine::PoolMemory(
      attr.address, bytes,
      [this, base, memh] {
        {
          absl::MutexLock lock(&allocated_mu_);
          allocated_.erase(base);
        }
        auto unmap = [this, memh] { ucp_mem_unmap(context_, memh); };
        if (std::this_thread::get_id() == thread_id_) {
          unmap();
        } else {
          RunSync(unmap);
        }
      },
      /*zeroed=*/true);
}

ucp_mem_h UcxTransportImpl::AllocatedMemh(const void* base, size_t bytes) const {
  const auto begin = reinterpret_cast<uintptr_t>(base);
  absl::MutexLock lock(&allocated_mu_);
  for (const auto& [start, mapping] : allocated_) {
    if (begin >= start && begin + bytes <= start + mapping.second) return mapping.first;
  }
  return nullptr;
}

absl::StatusOr<std::unique_ptr<KvWriteStream>> UcxTransportImpl::StartWrite(const KvTarget& target,
                                                                            KvSource source,
                                                                            absl::Time deadline) {
  RETURN_IF_ERROR(ValidateWrite(kUcxTransportName, target, source));
  auto state = std::make_shared<SendState>();
  state->target = target;
  state->source = std::move(source);
  state->deadline = deadline;
  state->requested.assign(target.layout.num_layers, false);
  // Connect and, for put, register as a writer now: the handshake then overlaps the caller's
  // computing of the first layer instead of delaying it.
  Post([this, state] {
    Track(state);
    Settle(state);
  });
  return std::unique_ptr<KvWriteStream>(std::make_unique<UcxStream>(this, std::move(state)));
}

TransportStats UcxTransportImpl::Stats() const {
  TransportStats stats;
  stats.sending_transfers = sending_.load();
  stats.dropped_writes = unrouted_drops_.load();
  absl::MutexLock lock(&receivers_mu_);
  stats.live_registrations = static_cast<int64_t>(receivers_.size());
  for (const auto& [base, receiver] : receivers_) {
    stats.receiving_transfers += receiver->tracker().live_transfers();
    stats.landings_in_flight += receiver->tracker().landings_in_flight();
    stats.dropped_writes += receiver->tracker().dropped_writes();
  }
  return stats;
}

// --- Send path (progress thread) ---------------------------------------------------------------

bool UcxTransportImpl::Track(const std::shared_ptr<SendState>& state) {
  streams_.emplace(state.get(), state);
  sending_.store(static_cast<int64_t>(streams_.size()));
  if (state->failure.ok() && absl::Now() >= state->deadline) {
    Fail(state, absl::DeadlineExceededError(absl::StrCat("KV transfer ", state->target.transfer_id,
                                                         " passed its deadline")));
  }
  if (state->failure.ok() && state->endpoint == nullptr) {
    absl::StatusOr<std::shared_ptr<Endpoint>> endpoint = GetEndpoint(state->target.worker_address);
    if (endpoint.ok()) {
      state->endpoint = *endpoint;
    } else {
      Fail(state, endpoint.status());
    }
  }
  if (state->failure.ok() && state->endpoint->ep == nullptr) {
    Fail(state, state->endpoint->failure);
  }
  if (state->failure.ok() && !state->put_decided) DecidePut(state);
  return state->failure.ok();
}

const Endpoint::Lanes& UcxTransportImpl::LanesOf(Endpoint& endpoint) {
  if (endpoint.lanes.has_value()) return *endpoint.lanes;
  // UCX 1.13 cannot report an endpoint's transports directly; its printed lane table can:
  //   lane[1]:  1:cma/memory.0 md[1]  -> md[1]/cma/sysdev[255] rma_bw#0
  Endpoint::Lanes lanes;
  char* buffer = nullptr;
  size_t size = 0;
  FILE* stream = open_memstream(&buffer, &size);
  if (stream != nullptr) {
    ucp_ep_print_info(endpoint.ep, stream);
    fclose(stream);
    int count = 0;
    bool tcp = false;
    for (absl::string_view line : absl::StrSplit(absl::string_view(buffer, size), '\n')) {
      if (!absl::StrContains(line, "lane[")) continue;
      ++count;
      const bool line_tcp = absl::StrContains(line, "tcp/");
      tcp = tcp || line_tcp;
      const bool on_host = line_tcp || absl::StrContains(line, "cma/") ||
                           absl::StrContains(line, "posix/") || absl::StrContains(line, "sysv/") ||
                           absl::StrContains(line, "self/");
      if (!on_host && absl::StrContains(line, "rma_bw")) lanes.rdma = true;
    }
    lanes.tcp = count == 0 || tcp;
    free(buffer);
  }
  endpoint.lanes = lanes;
  return *endpoint.lanes;
}

absl::StatusOr<std::shared_ptr<RemoteKey>> UcxTransportImpl::UnpackRemoteKey(
    Endpoint& endpoint, const std::string& packed) {
  if (auto it = endpoint.remote_keys.find(packed); it != endpoint.remote_keys.end()) {
    return it->second;
  }
  ucp_rkey_h rkey = nullptr;
  RETURN_IF_ERROR(
      UcsToStatus(ucp_ep_rkey_unpack(endpoint.ep, packed.data(), &rkey), "ucp_ep_rkey_unpack"));
  if (endpoint.remote_keys.size() >= kMaxCachedRemoteKeys) endpoint.remote_keys.clear();
  auto key = std::make_shared<RemoteKey>(rkey);
  endpoint.remote_keys[packed] = key;
  return key;
}

void UcxTransportImpl::DecidePut(const std::shared_ptr<SendState>& state) {
  state->put_decided = true;
  using Mode = Options::WriteMode;
  if (state->target.remote_keys.empty() || options_.write_mode == Mode::kActiveMessage) return;
  // Never over tcp. kAuto: where the pool is mapped into this process (UCX attached the receiver's
  // shared-memory pool: a put is one memcpy) or a lane does RDMA. kPut: on any other endpoint too
  // (cma, or UCX's emulation over shared-memory active messages).
  const Endpoint::Lanes& lanes = LanesOf(*state->endpoint);
  if (lanes.tcp) return;
  absl::StatusOr<std::shared_ptr<RemoteKey>> key =
      UnpackRemoteKey(*state->endpoint, state->target.remote_keys[0]);
  if (!key.ok()) {
    LOG(WARNING) << "KV transfer " << state->target.transfer_id
                 << ": cannot unpack the receiver's rkey (" << key.status()
                 << "); using active messages";
    return;
  }
  if (options_.write_mode == Mode::kAuto && !lanes.rdma) {
    void* local = nullptr;
    if (ucp_rkey_ptr((*key)->rkey, state->target.base_address, &local) != UCS_OK) return;
  }
  state->rkey = *std::move(key);
  state->writer_id = ++next_writer_id_;
  if (state->writer_id == 0) state->writer_id = ++next_writer_id_;
  put_streams_[state->writer_id] = state;
  state->put_phase = SendState::PutPhase::kAwaitGrant;
  ++state->outstanding_ops;  // The grant: ended by HandlePutReply or GiveUpGrant.
  SendPutHeader(state, OpKind::kPutBegin, ucx_wire::kPutBeginAm, worker_address_.data(),
                worker_address_.size());
}

void UcxTransportImpl::SendPutHeader(const std::shared_ptr<SendState>& state, OpKind kind,
                                     unsigned am_id, const void* payload, size_t payload_bytes) {
  auto* op = new SendOp{this, state, kind};
  op->put_header.pool_base = state->target.base_address;
  op->put_header.transfer_id = state->target.transfer_id;
  op->put_header.writer_id = state->writer_id;
  ucp_request_param_t param = {};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                       UCP_OP_ATTR_FIELD_FLAGS | UCP_OP_ATTR_FIELD_MEMORY_TYPE;
  param.cb.send = &OnSendDone;
  param.user_data = op;
  param.flags = UCP_AM_SEND_FLAG_EAGER;
  param.memory_type = UCS_MEMORY_TYPE_HOST;
  ++state->outstanding_ops;
  StartOp(op, ucp_am_send_nbx(state->endpoint->ep, am_id, &op->put_header, sizeof(op->put_header),
                              payload, payload_bytes, &param));
}

void UcxTransportImpl::HandlePutReply(uint64_t writer, uint32_t code) {
  if (auto late = late_grants_.find(writer); late != late_grants_.end()) {
    // Nothing was put: a grant that comes after giving up is answered with kStoppedAm.
    if (code == ucx_wire::kGranted) {
      SendToPeer(late->second.first, ucx_wire::kStoppedAm, late->second.second);
    }
    late_grants_.erase(late);
    return;
  }
  auto it = put_streams_.find(writer);
  if (it == put_streams_.end()) return;
  std::shared_ptr<SendState> state = it->second;
  if (state->put_phase != SendState::PutPhase::kAwaitGrant) return;
  --state->outstanding_ops;
  if (code != ucx_wire::kGranted) {
    state->put_phase = SendState::PutPhase::kDone;
    Fail(state, absl::AbortedError(absl::StrCat("KV transfer ", state->target.transfer_id,
                                                " refused by the receiver (unknown, finished or "
                                                "aborted)")));
  } else {
    state->put_phase = SendState::PutPhase::kGranted;
    std::vector<SendState::DeferredLayer> deferred = std::move(state->deferred);
    state->deferred.clear();
    for (auto& layer : deferred) {
      if (state->failure.ok()) IssuePuts(state, layer.layer, std::move(layer.runs));
    }
  }
  Settle(state);
}

void UcxTransportImpl::HandleStop(uint64_t writer) {
  auto it = put_streams_.find(writer);
  if (it == put_streams_.end()) return;
  std::shared_ptr<SendState> state = it->second;
  streams_.emplace(state.get(), state);
  sending_.store(static_cast<int64_t>(streams_.size()));
  Fail(state, absl::AbortedError(absl::StrCat("KV transfer ", state->target.transfer_id,
                                              " stopped by the receiver")));
  Settle(state);
}

void UcxTransportImpl::GiveUpGrant(const std::shared_ptr<SendState>& state) {
  if (state->put_phase != SendState::PutPhase::kAwaitGrant) return;
  state->put_phase = SendState::PutPhase::kDone;
  --state->outstanding_ops;
  // Should the grant still come, the receiver must learn at once that this writer is done.
  ucx_wire::PutHeader header;
  header.pool_base = state->target.base_address;
  header.transfer_id = state->target.transfer_id;
  header.writer_id = state->writer_id;
  if (late_grants_.size() < 4096) {
    late_grants_[state->writer_id] = {state->target.worker_address, header};
  }
}

void UcxTransportImpl::IssuePuts(const std::shared_ptr<SendState>& state, int32_t layer,
                                 std::vector<PlannedRun> runs) {
  // Each run goes as puts of at most put_fragment_bytes. Every put and the flush are counted up
  // front so an early completion cannot end the layer.
  const size_t fragment = std::max<size_t>(options_.put_fragment_bytes, 64);
  int total = 1;
  for (const PlannedRun& run : runs)
    total += static_cast<int>((run.bytes + fragment - 1) / fragment);
  state->layers[layer].outstanding = total;
  int issued = 0;
  for (const PlannedRun& run : runs) {
    const uint64_t remote =
        state->target.base_address + RunOffset(state->target.layout, state->target.pool_num_blocks,
                                               state->target.block_ids, run.run);
    for (size_t offset = 0; offset < run.bytes; offset += fragment) {
      if (!state->failure.ok() || state->endpoint->ep == nullptr) break;
      auto* op = new SendOp{this, state, OpKind::kPutData, layer};
      ucp_request_param_t param = {};
      param.op_attr_mask =
          UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_MEMORY_TYPE;
      param.cb.send = &OnSendDone;
      param.user_data = op;
      param.memory_type = UCS_MEMORY_TYPE_HOST;
      ++state->outstanding_ops;
      ++issued;
      StartOp(op, ucp_put_nbx(state->endpoint->ep, run.data + offset,
                              std::min(fragment, run.bytes - offset), remote + offset,
                              state->rkey->rkey, &param));
    }
  }
  if (state->failure.ok() && state->endpoint->ep != nullptr) {
    // Remote completion of the layer's puts, then the announcement (SendRunMessages).
    StartFlush(state, OpKind::kLayerFlush, layer, std::move(runs));
    return;
  }
  if (state->failure.ok()) Fail(state, absl::UnavailableError("KV peer endpoint closed"));
  auto it = state->layers.find(layer);
  if (it != state->layers.end()) it->second.outstanding -= total - issued;
}

void UcxTransportImpl::SendRunMessages(const std::shared_ptr<SendState>& state, int32_t layer,
                                       const std::vector<PlannedRun>& runs, bool announce) {
  auto pending = state->layers.find(layer);
  if (pending == state->layers.end()) return;
  // Count every run up front so that an early completion cannot finish the layer.
  pending->second.outstanding += static_cast<int>(runs.size());
  int issued = 0;
  for (const PlannedRun& run : runs) {
    if (!state->failure.ok() || state->endpoint->ep == nullptr) break;
    auto* op = new SendOp{this, state, OpKind::kLayerData, layer};
    op->data_header.flags = announce ? ucx_wire::kPutLanded : 0;
    op->data_header.pool_base = state->target.base_address;
    op->data_header.transfer_id = state->target.transfer_id;
    op->data_header.layer = run.run.layer;
    op->data_header.first_index = run.run.first_index;
    op->data_header.count = run.run.count;
    if (run.checksum.has_value()) {
      op->data_header.flags |= ucx_wire::kHasChecksum;
      op->data_header.checksum = *run.checksum;
    }
    ucp_request_param_t param = {};
    param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                         UCP_OP_ATTR_FIELD_MEMORY_TYPE | UCP_OP_ATTR_FIELD_FLAGS;
    param.cb.send = &OnSendDone;
    param.user_data = op;
    param.memory_type = UCS_MEMORY_TYPE_HOST;
    param.flags = announce ? UCP_AM_SEND_FLAG_EAGER : 0;
    ++state->outstanding_ops;
    ++issued;
    StartOp(op, ucp_am_send_nbx(state->endpoint->ep, ucx_wire::kDataAm, &op->data_header,
                                sizeof(op->data_header), announce ? nullptr : run.data,
                                announce ? 0 : run.bytes, &param));
  }
  if (issued < static_cast<int>(runs.size())) {
    // The stream failed part way; the runs never sent are not outstanding.
    if (state->failure.ok()) Fail(state, absl::UnavailableError("KV peer endpoint closed"));
    pending = state->layers.find(layer);
    if (pending != state->layers.end()) {
      pending->second.outstanding -= static_cast<int>(runs.size()) - issued;
    }
  }
}

void UcxTransportImpl::MaybeSendStopped(const std::shared_ptr<SendState>& state) {
  if (state->put_phase != SendState::PutPhase::kGranted || state->failure.ok() ||
      state->stop_started || state->outstanding_ops != 0 || state->abandoned ||
      state->endpoint == nullptr || state->endpoint->ep == nullptr) {
    return;
  }
  state->stop_started = true;
  StartFlush(state, OpKind::kStopFlush, -1, {});
}

void UcxTransportImpl::StartFlush(const std::shared_ptr<SendState>& state, OpKind kind,
                                  int32_t layer, std::vector<PlannedRun> runs) {
  auto* op = new SendOp{this, state, kind, layer};
  op->runs = std::move(runs);
  ucp_request_param_t param = {};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  param.cb.send = &OnSendDone;
  param.user_data = op;
  ++state->outstanding_ops;
  StartOp(op, ucp_ep_flush_nbx(state->endpoint->ep, &param));
}

void UcxTransportImpl::ReleasePutState(const std::shared_ptr<SendState>& state) {
  if (state->writer_id != 0) put_streams_.erase(state->writer_id);
  state->rkey.reset();
}

void UcxTransportImpl::DoWriteLayer(const std::shared_ptr<SendState>& state, int32_t layer,
                                    std::vector<PlannedRun> runs, DoneCallback done) {
  if (layer < 0 || layer >= state->target.layout.num_layers || state->requested[layer]) {
    // A caller bug, reported on this call only; the stream goes on.
    std::move(done)(absl::InvalidArgumentError(absl::StrCat("bad or repeated layer ", layer)));
    return;
  }
  state->requested[layer] = true;
  // Held (outstanding 1) until dispatched below: connecting may already complete other work and
  // settle the stream.
  state->layers[layer] = SendState::PendingLayer{1, std::move(done)};
  const bool tracked = Track(state);
  auto pending = state->layers.find(layer);
  if (pending == state->layers.end()) return;  // Cannot happen: it is held.
  if (!tracked) {
    pending->second.outstanding = 0;
    Settle(state);
    return;
  }
  if (state->put_phase == SendState::PutPhase::kAwaitGrant) {
    // Stays held until the grant issues it (or a failure drops it).
    state->deferred.push_back({layer, std::move(runs)});
    Settle(state);
    return;
  }
  if (state->put_phase == SendState::PutPhase::kGranted) {
    IssuePuts(state, layer, std::move(runs));
    Settle(state);
    return;
  }
  pending->second.outstanding = 0;
  SendRunMessages(state, layer, runs, /*announce=*/false);
  Settle(state);
}

void UcxTransportImpl::StartOp(SendOp* op, ucs_status_ptr_t result) {
  if (result == nullptr) {
    OnSendOpDone(op, UCS_OK);
  } else if (UCS_PTR_IS_ERR(result)) {
    OnSendOpDone(op, UCS_PTR_STATUS(result));
  } else {
    op->request = result;
    op->state->requests.insert(result);
  }
}

void UcxTransportImpl::OnSendOpDone(SendOp* op, ucs_status_t status) {
  std::shared_ptr<SendState> state = std::move(op->state);
  if (op->request != nullptr) {
    state->requests.erase(op->request);
    ucp_request_free(op->request);
  }
  if (state->abandoned) {
    delete op;
    return;
  }
  --state->outstanding_ops;
  if (status != UCS_OK && state->failure.ok()) {
    absl::Status why = UcsToStatus(status, "KV write");
    Fail(state, why);
  }
  switch (op->kind) {
    case OpKind::kLayerFlush:
      if (status == UCS_OK && state->failure.ok()) {
        SendRunMessages(state, op->layer, op->runs, /*announce=*/true);
      }
      [[fallthrough]];
    case OpKind::kPutData:
    case OpKind::kLayerData: {
      auto it = state->layers.find(op->layer);
      if (it != state->layers.end()) {
        --it->second.outstanding;
        if (it->second.outstanding == 0 && state->failure.ok()) ++state->layers_succeeded;
      }
      break;
    }
    case OpKind::kFinishMessage:
    case OpKind::kFlush:
      --state->finish_outstanding;
      break;
    case OpKind::kStopFlush:
      if (status == UCS_OK && state->endpoint != nullptr && state->endpoint->ep != nullptr) {
        SendPutHeader(state, OpKind::kStoppedMessage, ucx_wire::kStoppedAm, nullptr, 0);
      }
      break;
    case OpKind::kAbortMessage:
    case OpKind::kPutBegin:
    case OpKind::kStoppedMessage:
      break;
  }
  delete op;
  Settle(state);
}

void UcxTransportImpl::Fail(const std::shared_ptr<SendState>& state, absl::Status why) {
  if (!state->failure.ok()) return;
  state->failure = std::move(why);
  for (const SendState::DeferredLayer& deferred : state->deferred) {
    auto it = state->layers.find(deferred.layer);
    if (it != state->layers.end()) it->second.outstanding = 0;
  }
  state->deferred.clear();
  // Cancelled requests complete through OnSendDone; those that do not within the grace period
  // are ended by closing the endpoint (CheckTimers).
  std::vector<void*> requests(state->requests.begin(), state->requests.end());
  for (void* request : requests) ucp_request_cancel(worker_, request);
  if (state->outstanding_ops > 0) {
    state->force_close_at = absl::Now() + options_.cancel_grace;
  }
}

void UcxTransportImpl::SendControl(const std::shared_ptr<SendState>& state, OpKind kind,
                                   unsigned am_id, int32_t first_token) {
  auto* op = new SendOp{this, state, kind};
  op->control_header.pool_base = state->target.base_address;
  op->control_header.transfer_id = state->target.transfer_id;
  op->control_header.first_token = first_token;
  op->control_header.writer_id = state->writer_id;
  ucp_request_param_t param = {};
  param.op_attr_mask =
      UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS;
  param.cb.send = &OnSendDone;
  param.user_data = op;
  param.flags = UCP_AM_SEND_FLAG_EAGER;
  ++state->outstanding_ops;
  StartOp(op, ucp_am_send_nbx(state->endpoint->ep, am_id, &op->control_header,
                              sizeof(op->control_header), nullptr, 0, &param));
}

void UcxTransportImpl::DoFinish(const std::shared_ptr<SendState>& state, Completion completion,
                                DoneCallback done) {
  if (state->finish.has_value()) {
    std::move(done)(absl::FailedPreconditionError("Finish called twice"));
    return;
  }
  state->finish = completion;
  state->finish_done = std::move(done);
  if (Track(state)) {
    for (bool requested : state->requested) {
      if (!requested) {
        // A caller bug that would leave the receiver waiting for data: fail the stream (the
        // receiver's own deadline or an Abort then frees its blocks).
        Fail(state, absl::FailedPreconditionError("Finish before every layer was written"));
        break;
      }
    }
  }
  SendFinishIfReady(state);
  Settle(state);
}

void UcxTransportImpl::SendFinishIfReady(const std::shared_ptr<SendState>& state) {
  if (!state->finish.has_value() || state->finish_sent || !state->failure.ok()) return;
  if (state->layers_succeeded != state->target.layout.num_layers) return;
  state->finish_sent = true;
  state->finish_outstanding = 2;
  SendControl(state, OpKind::kFinishMessage, ucx_wire::kFinishAm, state->finish->first_token);
  if (!state->failure.ok() || state->endpoint->ep == nullptr) {
    --state->finish_outstanding;  // The flush is never started.
    if (state->failure.ok()) Fail(state, absl::UnavailableError("KV peer endpoint closed"));
    return;
  }
  // The flush completes once everything sent on the endpoint reached the peer.
  StartFlush(state, OpKind::kFlush, -1, {});
}

void UcxTransportImpl::DoCancel(const std::shared_ptr<SendState>& state) {
  if (!state->failure.ok()) return;
  streams_.emplace(state.get(), state);
  sending_.store(static_cast<int64_t>(streams_.size()));
  Fail(state,
       absl::AbortedError(absl::StrCat("KV transfer ", state->target.transfer_id, " cancelled")));
  // Tell the receiver, best effort, even if this stream never sent anything.
  if (state->endpoint == nullptr) {
    absl::StatusOr<std::shared_ptr<Endpoint>> endpoint = GetEndpoint(state->target.worker_address);
    if (endpoint.ok()) state->endpoint = *endpoint;
  }
  if (state->endpoint != nullptr && state->endpoint->ep != nullptr) {
    SendControl(state, OpKind::kAbortMessage, ucx_wire::kAbortAm, 0);
    if (state->outstanding_ops > 0) {
      state->force_close_at = absl::Now() + options_.cancel_grace;
    }
  }
  Settle(state);
}

void UcxTransportImpl::Settle(const std::shared_ptr<SendState>& state) {
  SendFinishIfReady(state);
  MaybeSendStopped(state);
  // Layer callbacks: OK once all their runs completed; the failure once nothing is in flight
  // for them.
  std::vector<std::pair<DoneCallback, absl::Status>> due;
  for (auto it = state->layers.begin(); it != state->layers.end();) {
    auto current = it++;
    if (current->second.outstanding == 0) {
      due.emplace_back(std::move(current->second.done), state->failure);
      state->layers.erase(current);
    }
  }
  if (state->finish_done) {
    const bool finished_ok =
        state->finish_sent && state->finish_outstanding == 0 && state->failure.ok();
    const bool failed_idle = !state->failure.ok() && state->outstanding_ops == 0;
    if (finished_ok || failed_idle) {
      due.emplace_back(std::move(state->finish_done), state->failure);
      state->finish_done = nullptr;
    }
  }
  const bool idle = state->layers.empty() && !state->finish_done && state->outstanding_ops == 0;
  if (idle) {
    streams_.erase(state.get());
    sending_.store(static_cast<int64_t>(streams_.size()));
    // A put stream keeps its rkey and writer id between layers; it lets go once it finished, or
    // failed (after its kStoppedAm, if it owed one).
    const bool finished = state->finish_sent && state->finish_outstanding == 0;
    if (state->put_phase != SendState::PutPhase::kOff && (finished || !state->failure.ok())) {
      ReleasePutState(state);
    }
  }
  for (auto& [done, status] : due) std::move(done)(status);
}

}  // namespace

absl::StatusOr<std::unique_ptr<UcxKvTransport>> UcxKvTransport::Create(const Options& options) {
  auto transport = std::make_unique<UcxTransportImpl>(options);
  RETURN_IF_ERROR(transport->Init());
  return std::unique_ptr<UcxKvTransport>(std::move(transport));
}

}  // namespace baton::kvtransfer
