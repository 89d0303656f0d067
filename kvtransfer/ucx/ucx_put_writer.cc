// UcxKvTransport, the sending side's put mode (RMA put, see ucx_kv_transport.h): choosing it per
// stream, the grant handshake with the receiver, the puts themselves and stopping. Progress thread,
// but for the active-message handlers.

#include <stdio.h>
#include <ucp/api/ucp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "kvtransfer/ucx/ucx_status.h"
#include "kvtransfer/ucx/ucx_transport_impl.h"
#include "kvtransfer/ucx/ucx_wire.h"
#include "kvtransfer/write_plan.h"

namespace baton::kvtransfer::ucx_internal {

const Endpoint::Lanes& UcxTransportImpl::LanesOf(Endpoint& endpoint) {
  if (endpoint.lanes.has_value()) return *endpoint.lanes;
  // UCX 1.13 cannot report an endpoint's transports directly; its printed lane table can:
  //   lane[1]:  1:cma/memory.0 md[1]  -> md[1]/cma/sysdev[255] rma_bw#0
  Endpoint::Lanes lanes;
  const std::string info =
      CaptureUcxPrint([ep = endpoint.ep](FILE* stream) { ucp_ep_print_info(ep, stream); });
  int count = 0;
  bool tcp = false;
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
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
  // A transfer of no blocks (the receiver caches them all) carries only its completion: no writer
  // to register.
  if (state->target.remote_keys.empty() || state->target.block_ids.empty() ||
      options_.write_mode == Mode::kActiveMessage) {
    return;
  }
  // Never UCX's put over tcp (a slow emulation). kAuto: where the pool is mapped into this process
  // (UCX attached the receiver's shared-memory pool: a put is one memcpy) or a lane does RDMA.
  // kPut: on any other endpoint too (cma, or UCX's emulation over shared-memory active messages).
  // A mapped pool behind tcp lanes (a peer on this host: endpoints detect peer failure, so UCX
  // keeps shared memory out of the message path) is written by plain copies, messages over tcp.
  const Endpoint::Lanes& lanes = LanesOf(*state->endpoint);
  absl::StatusOr<std::shared_ptr<RemoteKey>> key =
      UnpackRemoteKey(*state->endpoint, state->target.remote_keys[0]);
  if (!key.ok()) {
    if (!lanes.tcp) {
      LOG(WARNING) << "KV transfer " << state->target.transfer_id
                   << ": cannot unpack the receiver's rkey (" << key.status()
                   << "); using active messages";
    }
    return;
  }
  void* local = nullptr;
  const bool mapped =
      ucp_rkey_ptr((*key)->rkey, state->target.base_address, &local) == UCS_OK;
  if (lanes.tcp) {
    if (!mapped) return;
    state->mapped_pool = static_cast<char*>(local);
  } else if (options_.write_mode == Mode::kAuto && !lanes.rdma && !mapped) {
    return;
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
  if (kind == OpKind::kPutBegin && state->mapped_pool != nullptr) {
    op->put_header.code = ucx_wire::kMappedCopy;
  }
  ucp_request_param_t param = SendParams(op, /*host_memory=*/true);
  param.op_attr_mask |= UCP_OP_ATTR_FIELD_FLAGS;
  param.flags = UCP_AM_SEND_FLAG_EAGER;
  ++state->outstanding_ops;
  StartOp(op, ucp_am_send_nbx(state->endpoint->ep, am_id, &op->put_header, sizeof(op->put_header),
                              payload, payload_bytes, &param));
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

ucs_status_t UcxTransportImpl::OnStopAm(void* arg, const void* header, size_t header_length, void*,
                                        size_t, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxTransportImpl*>(arg);
  auto parsed = ucx_wire::Parse<ucx_wire::PutHeader>(header, header_length);
  if (!parsed.has_value()) return UCS_OK;
  self->Post([self, writer = parsed->writer_id] { self->HandleStop(writer); });
  return UCS_OK;
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
  if (state->mapped_pool != nullptr) {
    CopyIntoMappedPool(state, layer, std::move(runs));
    return;
  }
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
      ucp_request_param_t param = SendParams(op, /*host_memory=*/true);
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

void UcxTransportImpl::CopyIntoMappedPool(const std::shared_ptr<SendState>& state, int32_t layer,
                                          std::vector<PlannedRun> runs) {
  state->layers[layer].outstanding = 1;  // The flush that then announces the runs.
  if (!state->failure.ok() || state->endpoint->ep == nullptr) {
    if (state->failure.ok()) Fail(state, absl::UnavailableError("KV peer endpoint closed"));
    state->layers[layer].outstanding = 0;
    return;
  }
  for (const PlannedRun& run : runs) {
    std::memcpy(state->mapped_pool + RunOffset(state->target.layout, state->target.pool_num_blocks,
                                               state->target.block_ids, run.run),
                run.data, run.bytes);
  }
  // The receiver reads these bytes after the announcement, which follows over tcp.
  std::atomic_thread_fence(std::memory_order_release);
  StartFlush(state, OpKind::kLayerFlush, layer, std::move(runs));
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

void UcxTransportImpl::ReleasePutState(const std::shared_ptr<SendState>& state) {
  if (state->writer_id != 0) put_streams_.erase(state->writer_id);
  state->rkey.reset();
}

}  // namespace baton::kvtransfer::ucx_internal
