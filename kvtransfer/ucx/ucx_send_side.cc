// UcxKvTransport, sending side: UcxStream and its commands on the progress thread, send requests
// and their completion, active-message data, Finish, Cancel. Put mode is in ucx_put_writer.cc.

#include <ucp/api/ucp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kvtransfer/checksum.h"
#include "kvtransfer/ucx/ucx_status.h"
#include "kvtransfer/ucx/ucx_transport_impl.h"
#include "kvtransfer/ucx/ucx_wire.h"
#include "kvtransfer/write_plan.h"

namespace baton::kvtransfer::ucx_internal {
namespace {

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
        [transport = transport_, state = state_, completion = std::move(completion),
         done = std::move(done)]() mutable {
          transport->DoFinish(state, std::move(completion), std::move(done));
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

}  // namespace

ucp_request_param_t SendParams(SendOp* op, bool host_memory) {
  ucp_request_param_t param = {};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  param.cb.send = &OnSendDone;
  param.user_data = op;
  if (host_memory) {
    param.op_attr_mask |= UCP_OP_ATTR_FIELD_MEMORY_TYPE;
    param.memory_type = UCS_MEMORY_TYPE_HOST;
  }
  return param;
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
  // A layer without runs (no blocks to write) has nothing to wait for: it succeeded.
  if (runs.empty()) ++state->layers_succeeded;
  SendRunMessages(state, layer, runs, /*announce=*/false);
  Settle(state);
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
    ucp_request_param_t param = SendParams(op, /*host_memory=*/true);
    param.op_attr_mask |= UCP_OP_ATTR_FIELD_FLAGS;
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

void UcxTransportImpl::StartFlush(const std::shared_ptr<SendState>& state, OpKind kind,
                                  int32_t layer, std::vector<PlannedRun> runs) {
  auto* op = new SendOp{this, state, kind, layer};
  op->runs = std::move(runs);
  ucp_request_param_t param = SendParams(op, /*host_memory=*/false);
  ++state->outstanding_ops;
  StartOp(op, ucp_ep_flush_nbx(state->endpoint->ep, &param));
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
                                   unsigned am_id, int32_t first_token, std::string payload) {
  auto* op = new SendOp{this, state, kind};
  op->control_header.pool_base = state->target.base_address;
  op->control_header.transfer_id = state->target.transfer_id;
  op->control_header.first_token = first_token;
  op->control_header.writer_id = state->writer_id;
  // The op owns the payload: UCX may read it until the send completes.
  op->payload = std::move(payload);
  // Eager even with a payload (at most kMaxCompletionPayloadBytes), so the receiver's handler
  // sees the whole message at once and never has to start a rendezvous for a control message.
  ucp_request_param_t param = SendParams(op, /*host_memory=*/!op->payload.empty());
  param.op_attr_mask |= UCP_OP_ATTR_FIELD_FLAGS;
  param.flags = UCP_AM_SEND_FLAG_EAGER;
  ++state->outstanding_ops;
  StartOp(op, ucp_am_send_nbx(state->endpoint->ep, am_id, &op->control_header,
                              sizeof(op->control_header),
                              op->payload.empty() ? nullptr : op->payload.data(),
                              op->payload.size(), &param));
}

void UcxTransportImpl::DoFinish(const std::shared_ptr<SendState>& state, Completion completion,
                                DoneCallback done) {
  if (state->finish.has_value()) {
    std::move(done)(absl::FailedPreconditionError("Finish called twice"));
    return;
  }
  const absl::Status valid = ValidateCompletion(completion);
  state->finish = std::move(completion);
  state->finish_done = std::move(done);
  if (Track(state)) {
    if (!valid.ok()) Fail(state, valid);
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
  SendControl(state, OpKind::kFinishMessage, ucx_wire::kFinishAm, state->finish->first_token,
              state->finish->payload);
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
    SendControl(state, OpKind::kAbortMessage, ucx_wire::kAbortAm, 0, {});
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

}  // namespace baton::kvtransfer::ucx_internal
