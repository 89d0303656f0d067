#include "kvtransfer/nccl/nccl_kv_transport.h"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "kvtransfer/nccl/nccl_status.h"
#include "kvtransfer/receive_tracker.h"
#include "kvtransfer/write_plan.h"

namespace baton::kvtransfer {
namespace {

constexpr int kSenderRank = 0;
constexpr int kReceiverRank = 1;

// The completion on the wire: one fixed-size record, because an NCCL receive must name its size
// before it knows the payload's.
struct CompletionRecord {
  int64_t first_token = 0;
  int64_t payload_bytes = 0;
  char payload[kMaxCompletionPayloadBytes] = {};
};

// One side of a two-rank communicator plus its CUDA stream. Used by one thread.
class NcclPeer {
 public:
  ~NcclPeer() {
    if (comm_ != nullptr) {
      if (healthy_) {
        ncclCommDestroy(comm_);
      } else {
        ncclCommAbort(comm_);
      }
    }
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
    if (scratch_ != nullptr) cudaFree(scratch_);
  }

  absl::Status Init(const ncclUniqueId& id, int rank, absl::Time deadline,
                    const std::atomic<bool>& abort) {
    RETURN_IF_ERROR(CudaToStatus(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking),
                                 "cudaStreamCreate"));
    RETURN_IF_ERROR(CudaToStatus(cudaMalloc(&scratch_, sizeof(CompletionRecord)), "cudaMalloc"));
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // So a peer that never shows up cannot hang us past the deadline.
    const ncclResult_t result = ncclCommInitRankConfig(&comm_, 2, id, rank, &config);
    if (result != ncclSuccess && result != ncclInProgress) {
      healthy_ = false;
      return NcclToStatus(result, "ncclCommInitRankConfig");
    }
    return AwaitComm(deadline, abort, "ncclCommInitRankConfig");
  }

  // Waits until the operations enqueued on the communicator and stream completed.
  absl::Status Wait(absl::Time deadline, const std::atomic<bool>& abort) {
    RETURN_IF_ERROR(AwaitComm(deadline, abort, "NCCL operation"));
    while (true) {
      const cudaError_t error = cudaStreamQuery(stream_);
      if (error != cudaErrorNotReady) return CudaToStatus(error, "cudaStreamQuery");
      if (absl::Status s = Interrupted(deadline, abort); !s.ok()) return s;
      absl::SleepFor(absl::Microseconds(20));
    }
  }

  // Group end of a non-blocking communicator: in progress is fine, Wait follows.
  absl::Status GroupEnd() {
    const ncclResult_t result = ncclGroupEnd();
    if (result == ncclSuccess || result == ncclInProgress) return absl::OkStatus();
    healthy_ = false;
    return NcclToStatus(result, "ncclGroupEnd");
  }

  ncclComm_t comm() const { return comm_; }
  cudaStream_t stream() const { return stream_; }
  // Device memory for one CompletionRecord.
  void* scratch() const { return scratch_; }

 private:
  absl::Status AwaitComm(absl::Time deadline, const std::atomic<bool>& abort, const char* what) {
    while (true) {
      ncclResult_t state = ncclSuccess;
      const ncclResult_t result = ncclCommGetAsyncError(comm_, &state);
      if (result != ncclSuccess) state = result;
      if (state == ncclSuccess) return absl::OkStatus();
      if (state != ncclInProgress) {
        healthy_ = false;
        return NcclToStatus(state, what);
      }
      if (absl::Status s = Interrupted(deadline, abort); !s.ok()) return s;
      absl::SleepFor(absl::Microseconds(50));
    }
  }

  absl::Status Interrupted(absl::Time deadline, const std::atomic<bool>& abort) {
    if (abort.load()) {
      healthy_ = false;
      return absl::AbortedError("KV transfer aborted");
    }
    if (absl::Now() >= deadline) {
      healthy_ = false;
      return absl::DeadlineExceededError("KV transfer passed its deadline");
    }
    return absl::OkStatus();
  }

  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* scratch_ = nullptr;
  bool healthy_ = true;
};

absl::StatusOr<ncclUniqueId> IdFromAddress(const std::string& address) {
  if (address.size() != sizeof(ncclUniqueId)) {
    return absl::InvalidArgumentError(
        absl::StrCat("an NCCL address has ", sizeof(ncclUniqueId), " bytes, not ", address.size()));
  }
  ncclUniqueId id;
  std::memcpy(&id, address.data(), sizeof(id));
  return id;
}

// ---------------------------------------------------------------------------------------------
// Receiving side.

class NcclReceiver : public KvReceiver {
 public:
  NcclReceiver(int device, void* base, int32_t num_blocks, const engine::KvLayout& layout,
               std::atomic<int64_t>* registrations)
      : device_(device), tracker_(base, num_blocks, layout), registrations_(registrations) {
    registrations_->fetch_add(1);
  }

  ~NcclReceiver() override {
    {
      absl::MutexLock lock(&mu_);
      for (auto& [id, job] : jobs_) job->abort.store(true);
    }
    for (auto& [id, job] : jobs_) job->thread.join();
    tracker_.Shutdown();
    registrations_->fetch_sub(1);
  }

  absl::StatusOr<KvTarget> ExpectTransfer(TransferId id, std::vector<int32_t> block_ids,
                                          ExpectOptions options,
                                          ReceiveCallback on_complete) override {
    if (options.checksum) {
      return absl::UnimplementedError("the NCCL KV transport has no checksums");
    }
    ncclUniqueId uid;
    RETURN_IF_ERROR(NcclToStatus(ncclGetUniqueId(&uid), "ncclGetUniqueId"));
    KvTarget target = tracker_.TargetFor(id, block_ids, options);  // No checksum: refused above.
    target.transport = kNcclTransportName;
    target.worker_address.assign(reinterpret_cast<const char*>(&uid), sizeof(uid));
    RETURN_IF_ERROR(tracker_.Expect(id, block_ids, options, std::move(on_complete)));
    absl::MutexLock lock(&mu_);
    auto job = std::make_unique<Job>();
    Job* raw = job.get();
    jobs_[id] = std::move(job);
    raw->thread =
        std::thread([this, raw, id, uid, blocks = std::move(block_ids),
                     deadline = options.deadline] { Run(raw, id, uid, blocks, deadline); });
    return target;
  }

  void Abort(TransferId id) override {
    {
      absl::MutexLock lock(&mu_);
      auto it = jobs_.find(id);
      if (it != jobs_.end()) it->second->abort.store(true);
    }
    tracker_.Fail(id, absl::AbortedError(absl::StrCat("transfer ", id, " aborted by receiver")));
  }

  // The tracker's deadline only: the rendezvous of a job already started keeps the deadline it
  // was started with (a sender that joins later fails with kDeadlineExceeded and may retry).
  void ExtendDeadline(TransferId id, absl::Time deadline) override {
    tracker_.ExtendDeadline(id, deadline);
  }

  const ReceiveTracker& tracker() const { return tracker_; }

 private:
  struct Job {
    std::atomic<bool> abort{false};
    std::thread thread;
  };

  void Run(Job* job, TransferId id, ncclUniqueId uid, const std::vector<int32_t>& blocks,
           absl::Time deadline) {
    absl::Status status = CudaToStatus(cudaSetDevice(device_), "cudaSetDevice");
    NcclPeer peer;
    if (status.ok()) status = peer.Init(uid, kReceiverRank, deadline, job->abort);
    const engine::KvLayout& layout = tracker_.layout();
    const size_t bytes = layout.LayerBlockBytes();
    for (int32_t layer = 0; status.ok() && layer < layout.num_layers; ++layer) {
      std::vector<ReceiveTracker::Landing> landings;
      for (int32_t i = 0; i < static_cast<int32_t>(blocks.size()); ++i) {
        absl::StatusOr<ReceiveTracker::Landing> landing =
            tracker_.BeginLanding(id, SlabRun{layer, i, 1}, bytes, std::nullopt);
        if (!landing.ok()) {
          status = landing.status();
          break;
        }
        landings.push_back(*landing);
      }
      if (status.ok()) {
        ncclGroupStart();
        for (const auto& landing : landings) {
          ncclRecv(landing.destination, bytes, ncclUint8, kSenderRank, peer.comm(), peer.stream());
        }
        status = peer.GroupEnd();
        if (status.ok()) status = peer.Wait(deadline, job->abort);
      }
      for (const auto& landing : landings) tracker_.EndLanding(landing, status);
    }
    if (status.ok()) {
      ncclRecv(peer.scratch(), sizeof(CompletionRecord), ncclUint8, kSenderRank, peer.comm(),
               peer.stream());
      status = peer.Wait(deadline, job->abort);
    }
    auto record = std::make_unique<CompletionRecord>();
    if (status.ok()) {
      status = CudaToStatus(cudaMemcpy(record.get(), peer.scratch(), sizeof(CompletionRecord),
                                       cudaMemcpyDeviceToHost),
                            "cudaMemcpy");
    }
    if (status.ok() && (record->payload_bytes < 0 ||
                        record->payload_bytes > static_cast<int64_t>(kMaxCompletionPayloadBytes))) {
      status = absl::DataLossError(
          absl::StrCat("completion with a payload of ", record->payload_bytes, " bytes"));
    }
    if (status.ok()) {
      Completion completion{static_cast<int32_t>(record->first_token)};
      completion.payload.assign(record->payload, record->payload_bytes);
      tracker_.SenderFinished(id, std::move(completion));
    } else {
      tracker_.Fail(id, status);
    }
  }

  const int device_;
  ReceiveTracker tracker_;
  std::atomic<int64_t>* registrations_;
  absl::Mutex mu_;
  absl::flat_hash_map<TransferId, std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------------------------
// Sending side.

struct SendJob {
  KvTarget target;
  KvSource source;
  absl::Time deadline;
  int device = 0;
  std::atomic<bool> abort{false};
  absl::Mutex mu;
  std::deque<absl::AnyInvocable<void(NcclPeer&, absl::Status&) &&>> commands ABSL_GUARDED_BY(mu);
  bool stopping ABSL_GUARDED_BY(mu) = false;
  std::thread thread;
  std::atomic<int64_t>* sending = nullptr;
  int32_t next_layer = 0;  // Job thread only.

  void Post(absl::AnyInvocable<void(NcclPeer&, absl::Status&) &&> command) {
    sending->fetch_add(1);
    absl::MutexLock lock(&mu);
    commands.push_back(std::move(command));
  }

  void Loop() {
    absl::Status failure = CudaToStatus(cudaSetDevice(device), "cudaSetDevice");
    NcclPeer peer;
    absl::StatusOr<ncclUniqueId> uid = IdFromAddress(target.worker_address);
    if (failure.ok()) failure = uid.status();
    if (failure.ok()) failure = peer.Init(*uid, kSenderRank, deadline, abort);
    while (true) {
      absl::AnyInvocable<void(NcclPeer&, absl::Status&) &&> command;
      {
        absl::MutexLock lock(&mu);
        mu.Await(absl::Condition(
            +[](SendJob* j) ABSL_EXCLUSIVE_LOCKS_REQUIRED(j->mu) {
              return j->stopping || !j->commands.empty();
            },
            this));
        if (commands.empty()) return;
        command = std::move(commands.front());
        commands.pop_front();
      }
      if (failure.ok() && abort.load()) failure = absl::AbortedError("KV transfer cancelled");
      std::move(command)(peer, failure);
      sending->fetch_sub(1);
    }
  }
};

class NcclStream : public KvWriteStream {
 public:
  explicit NcclStream(SendJob* job) : job_(job) {}

  TransferId id() const override { return job_->target.transfer_id; }

  void WriteLayer(int32_t layer, DoneCallback done) override {
    SendJob* job = job_;
    job_->Post([job, layer, done = std::move(done)](NcclPeer& peer, absl::Status& failure) mutable {
      if (!failure.ok()) return std::move(done)(failure);
      if (layer != job->next_layer) {
        return std::move(done)(absl::InvalidArgumentError(absl::StrCat(
            "NCCL writes layers in order: expected ", job->next_layer, ", got ", layer)));
      }
      const KvSource& source = job->source;
      const size_t bytes = source.layout.LayerBlockBytes();
      ncclGroupStart();
      for (int32_t block : source.block_ids) {
        const char* from = static_cast<const char*>(source.pool_base) +
                           source.layout.Offset(layer, block, source.pool_num_blocks);
        ncclSend(from, bytes, ncclUint8, kReceiverRank, peer.comm(), peer.stream());
      }
      failure = peer.GroupEnd();
      if (failure.ok()) failure = peer.Wait(job->deadline, job->abort);
      if (failure.ok()) ++job->next_layer;
      std::move(done)(failure);
    });
  }

  void Finish(Completion completion, DoneCallback done) override {
    SendJob* job = job_;
    job_->Post([job, completion = std::move(completion), done = std::move(done)](
                   NcclPeer& peer, absl::Status& failure) mutable {
      if (failure.ok()) failure = ValidateCompletion(completion);
      if (failure.ok() && job->next_layer != job->target.layout.num_layers) {
        failure = absl::FailedPreconditionError("Finish before every layer was written");
      }
      if (failure.ok()) {
        auto record = std::make_unique<CompletionRecord>();
        record->first_token = completion.first_token;
        record->payload_bytes = static_cast<int64_t>(completion.payload.size());
        std::memcpy(record->payload, completion.payload.data(), completion.payload.size());
        failure = CudaToStatus(cudaMemcpy(peer.scratch(), record.get(), sizeof(CompletionRecord),
                                          cudaMemcpyHostToDevice),
                               "cudaMemcpy");
      }
      if (failure.ok()) {
        ncclSend(peer.scratch(), sizeof(CompletionRecord), ncclUint8, kReceiverRank, peer.comm(),
                 peer.stream());
        failure = peer.Wait(job->deadline, job->abort);
      }
      std::move(done)(failure);
    });
  }

  void Cancel() override { job_->abort.store(true); }

 private:
  SendJob* job_;  // Owned by the transport.
};

class NcclTransportImpl : public NcclKvTransport {
 public:
  explicit NcclTransportImpl(const Options& options) : options_(options) {}

  ~NcclTransportImpl() override {
    absl::MutexLock lock(&mu_);
    for (auto& job : jobs_) {
      job->abort.store(true);
      absl::MutexLock job_lock(&job->mu);
      job->stopping = true;
    }
    for (auto& job : jobs_) job->thread.join();
  }

  TransportCapabilities Capabilities() const override {
    TransportCapabilities caps;
    caps.name = kNcclTransportName;
    caps.host_memory = false;
    caps.device_memory = true;
    caps.checksums = false;
    caps.zero_copy_receive = true;
    caps.cross_process = true;
    return caps;
  }

  absl::StatusOr<std::unique_ptr<KvReceiver>> CreateReceiver(
      void* pool_base, int32_t pool_num_blocks, const engine::KvLayout& layout) override {
    if (pool_base == nullptr || pool_num_blocks <= 0 || layout.PoolBytes(1) == 0) {
      return absl::InvalidArgumentError("CreateReceiver needs a pool");
    }
    return std::unique_ptr<KvReceiver>(std::make_unique<NcclReceiver>(
        options_.cuda_device, pool_base, pool_num_blocks, layout, &registrations_));
  }

  absl::StatusOr<std::unique_ptr<KvWriteStream>> StartWrite(const KvTarget& target, KvSource source,
                                                            absl::Time deadline) override {
    RETURN_IF_ERROR(ValidateWrite(kNcclTransportName, target, source));
    RETURN_IF_ERROR(IdFromAddress(target.worker_address).status());
    auto job = std::make_unique<SendJob>();
    job->target = target;
    job->source = std::move(source);
    job->deadline = deadline;
    job->device = options_.cuda_device;
    job->sending = &sending_;
    SendJob* raw = job.get();
    raw->thread = std::thread([raw] { raw->Loop(); });
    absl::MutexLock lock(&mu_);
    jobs_.push_back(std::move(job));
    return std::unique_ptr<KvWriteStream>(std::make_unique<NcclStream>(raw));
  }

  TransportStats Stats() const override {
    TransportStats stats;
    stats.live_registrations = registrations_.load();
    stats.sending_transfers = sending_.load();
    return stats;
  }

 private:
  const Options options_;
  std::atomic<int64_t> registrations_{0};
  std::atomic<int64_t> sending_{0};
  absl::Mutex mu_;
  std::vector<std::unique_ptr<SendJob>> jobs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<NcclKvTransport>> NcclKvTransport::Create(const Options& options) {
  int devices = 0;
  RETURN_IF_ERROR(CudaToStatus(cudaGetDeviceCount(&devices), "cudaGetDeviceCount"));
  if (options.cuda_device < 0 || options.cuda_device >= devices) {
    return absl::UnavailableError(
        absl::StrCat("CUDA device ", options.cuda_device, " of ", devices));
  }
  return std::unique_ptr<NcclKvTransport>(std::make_unique<NcclTransportImpl>(options));
}

}  // namespace baton::kvtransfer
