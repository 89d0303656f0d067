#include "router/disagg_client.h"

#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"

namespace baton::router {

namespace v1 = ::baton::internal::v1;

DisaggClient::DisaggClient(std::shared_ptr<grpc::Channel> decode,
                           std::shared_ptr<grpc::Channel> prefill)
    : decode_(v1::DecodeService::NewStub(decode)),
      prefill_(prefill == nullptr ? nullptr : v1::PrefillService::NewStub(prefill)) {}

absl::StatusOr<DisaggResult> DisaggClient::Generate(const DisaggRequest& request,
                                                    const TokenCallback& on_tokens) {
  if (!request.local_prefill && prefill_ == nullptr) {
    return absl::FailedPreconditionError("no prefill worker for a disaggregated request");
  }
  v1::DecodeRequest decode_request;
  decode_request.set_request_id(request.request_id);
  decode_request.mutable_prompt_token_ids()->Add(request.prompt.begin(), request.prompt.end());
  *decode_request.mutable_sampling() = request.sampling;
  decode_request.set_local_prefill(request.local_prefill);
  decode_request.set_lease_millis(request.lease_millis);

  grpc::ClientContext decode_context;
  grpc::ClientContext prefill_context;
  if (request.timeout != absl::InfiniteDuration()) {
    const auto deadline = absl::ToChronoTime(absl::Now() + request.timeout);
    decode_context.set_deadline(deadline);
    prefill_context.set_deadline(deadline);
  }
  std::unique_ptr<grpc::ClientReader<v1::DecodeResponse>> stream =
      decode_->Decode(&decode_context, decode_request);

  DisaggResult result;
  std::thread prefill_thread;
  absl::Mutex mu;
  grpc::Status prefill_status;  // guarded by mu
  bool prefill_failed = false;  // guarded by mu
  bool cancelled_by_caller = false;
  bool finished = false;
  v1::DecodeResponse message;
  while (stream->Read(&message)) {
    if (message.has_kv_target()) {
      if (request.local_prefill || prefill_thread.joinable()) {
        decode_context.TryCancel();
        break;  // protocol error, reported below
      }
      v1::PrefillRequest prefill_request;
      prefill_request.set_request_id(request.request_id);
      *prefill_request.mutable_prompt_token_ids() = decode_request.prompt_token_ids();
      *prefill_request.mutable_sampling() = request.sampling;
      *prefill_request.mutable_kv_target() = message.kv_target();
      prefill_thread = std::thread([&, prefill_request = std::move(prefill_request)] {
        v1::PrefillResponse response;
        grpc::Status status = prefill_->Prefill(&prefill_context, prefill_request, &response);
        absl::MutexLock lock(&mu);
        prefill_status = status;
        if (status.ok()) {
          result.prefill = std::move(response);
        } else {
          // D would otherwise wait for KV that never comes until its lease ends.
          prefill_failed = true;
          decode_context.TryCancel();
        }
      });
    } else if (message.has_tokens()) {
      result.tokens.insert(result.tokens.end(), message.tokens().token_ids().begin(),
                           message.tokens().token_ids().end());
      for (const baton::v1::PositionLogprobs& lp : message.tokens().logprobs()) {
        result.logprobs.push_back(lp);
      }
      if (on_tokens != nullptr && !on_tokens(message.tokens())) {
        cancelled_by_caller = true;
        decode_context.TryCancel();
        break;
      }
    } else if (message.has_finished()) {
      result.finished = message.finished();
      finished = true;
    }
  }
  if (cancelled_by_caller) {
    // Drain so Finish does not block on unread messages.
    while (stream->Read(&message)) {
    }
  }
  const grpc::Status decode_status = stream->Finish();
  if (!decode_status.ok() || cancelled_by_caller) prefill_context.TryCancel();
  if (prefill_thread.joinable()) prefill_thread.join();

  if (cancelled_by_caller) return absl::CancelledError("request cancelled by the caller");
  {
    absl::MutexLock lock(&mu);
    if (prefill_failed) return common::FromGrpcStatus(prefill_status);
  }
  if (!decode_status.ok()) return common::FromGrpcStatus(decode_status);
  if (!finished) return absl::InternalError("decode stream ended without a final message");
  if (!request.local_prefill && result.prefill.has_first_logprobs() &&
      result.logprobs.size() + 1 == result.tokens.size()) {
    result.logprobs.insert(result.logprobs.begin(), result.prefill.first_logprobs());
  }
  return result;
}

}  // namespace baton::router
