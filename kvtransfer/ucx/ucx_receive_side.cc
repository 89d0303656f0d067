// UcxKvTransport, receiving side: UcxReceiver, the active messages a receiver handles, put-writer
// registration, and pool memory. Declarations in ucx_transport_impl.h.

#include <string.h>
#include <ucp/api/ucp.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "kvtransfer/receive_tracker.h"
#include "kvtransfer/ucx/ucx_status.h"
#include "kvtransfer/ucx/ucx_transport_impl.h"
#include "kvtransfer/ucx/ucx_wire.h"
#include "kvtransfer/write_plan.h"

namespace baton::kvtransfer::ucx_internal {
namespace {

// The user_data of one rendezvous receive into a pool.
struct RecvOp {
  UcxReceiver* receiver;
  ReceiveTracker::Landing landing;
};

void OnRecvDone(void* request, ucs_status_t status, size_t /*length*/, void* user_data) {
  auto* op = static_cast<RecvOp*>(user_data);
  op->receiver->tracker().EndLanding(op->landing, UcsToStatus(status, "rendezvous receive"));
  delete op;
  ucp_request_free(request);
}

struct FireOp {
  ucx_wire::PutHeader header;
};

void OnFireDone(void* request, ucs_status_t, void* user_data) {
  delete static_cast<FireOp*>(user_data);
  ucp_request_free(request);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Receiver.

UcxReceiver::UcxReceiver(UcxTransportImpl* transport, void* base, int32_t num_blocks,
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

UcxReceiver::~UcxReceiver() {
  // Aborts what is live and waits for landings and put writers (whose kStoppedAm must still reach
  // this receiver), then delivers every on_complete. New writes are refused meanwhile.
  tracker_.Shutdown();
  {
    absl::MutexLock lock(&transport_->receivers_mu_);
    transport_->receivers_.erase(reinterpret_cast<uint64_t>(tracker_.pool_base()));
  }
  if (owns_memh_) transport_->RunSync([this] { ucp_mem_unmap(transport_->context(), memh_); });
}

absl::StatusOr<KvTarget> UcxReceiver::ExpectTransfer(TransferId id, std::vector<int32_t> block_ids,
                                                     ExpectOptions options,
                                                     ReceiveCallback on_complete) {
  KvTarget target = tracker_.TargetFor(id, block_ids, options);
  target.transport = kUcxTransportName;
  target.worker_address = transport_->worker_address();
  if (!packed_rkey_.empty()) target.remote_keys = {packed_rkey_};
  RETURN_IF_ERROR(tracker_.Expect(id, std::move(block_ids), options, std::move(on_complete)));
  // The sender's first message follows shortly: be awake for it.
  transport_->PollFor(transport_->options().poll_after_expect);
  return target;
}

void UcxReceiver::Abort(TransferId id) {
  tracker_.Fail(id, absl::AbortedError(absl::StrCat("transfer ", id, " aborted by receiver")));
}

void UcxReceiver::ExtendDeadline(TransferId id, absl::Time deadline) {
  tracker_.ExtendDeadline(id, deadline);
}

// ---------------------------------------------------------------------------------------------
// Receiving side of the transport.

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
                                          void* data, size_t length,
                                          const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxTransportImpl*>(arg);
  auto parsed = ucx_wire::Parse<ucx_wire::ControlHeader>(header, header_length);
  // Senders send the payload eagerly; a rendezvous or oversized one is not ours to take. Dropped
  // like a malformed header: the transfer then ends at its deadline, never completes without it.
  const bool rndv = (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0;
  if (!parsed.has_value() || rndv || length > kMaxCompletionPayloadBytes) {
    return rndv ? UCS_ERR_INVALID_PARAM : UCS_OK;
  }
  Completion completion{parsed->first_token};
  if (length > 0) completion.payload.assign(static_cast<const char*>(data), length);
  self->WithTracker(parsed->pool_base, [&](ReceiveTracker& tracker) {
    tracker.SenderFinished(parsed->transfer_id, std::move(completion), parsed->writer_id);
  });
  if (parsed->writer_id != 0) self->remote_writers_.erase(parsed->writer_id);
  return UCS_OK;
}

ucs_status_t UcxTransportImpl::OnAbortAm(void* arg, const void* header, size_t header_length, void*,
                                         size_t, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxTransportImpl*>(arg);
  auto parsed = ucx_wire::Parse<ucx_wire::ControlHeader>(header, header_length);
  if (!parsed.has_value()) return UCS_OK;
  self->WithTracker(parsed->pool_base, [&](ReceiveTracker& tracker) {
    tracker.Fail(parsed->transfer_id, absl::AbortedError("transfer cancelled by the sender"));
  });
  return UCS_OK;
}

ucs_status_t UcxTransportImpl::OnStoppedAm(void* arg, const void* header, size_t header_length,
                                           void*, size_t, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxTransportImpl*>(arg);
  auto parsed = ucx_wire::Parse<ucx_wire::PutHeader>(header, header_length);
  if (!parsed.has_value()) return UCS_OK;
  self->remote_writers_.erase(parsed->writer_id);
  self->WithTracker(parsed->pool_base, [&](ReceiveTracker& tracker) {
    tracker.PutWriterStopped(parsed->transfer_id, parsed->writer_id);
  });
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
  // UCX puts over tcp are refused whatever the writer thinks (UCX's emulation is slow and crashed
  // the receiving process in our tests); a writer on this host that copies through its own
  // mapping of the pool and only talks over tcp is welcome.
  const bool acceptable =
      !LanesOf(**endpoint).tcp || header.code == ucx_wire::kMappedCopy;
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

}  // namespace baton::kvtransfer::ucx_internal
