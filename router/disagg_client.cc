#include "router/disagg_client.h"

#include <optional>
#include <random>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"

namespace baton::router {

namespace v1 = ::baton::internal::v1;

namespace {

// Runs one Prefill, failing over to the next worker on retryable errors while the lease lasts.
// Run is called on one thread; Cancel from any other.
class PrefillAttempts {
 public:
  PrefillAttempts(const std::vector<std::unique_ptr<v1::PrefillService::Stub>>& stubs, size_t first,
                  absl::Time deadline)
      : stubs_(stubs), first_(first), deadline_(deadline) {}

  grpc::Status Run(const v1::PrefillRequest& request, v1::PrefillResponse* response) {
    const int64_t lease_micros = request.kv_target().lease_deadline_unix_micros();
    grpc::Status status;
    for (size_t attempt = 0; attempt < stubs_.size(); ++attempt) {
      grpc::ClientContext context;
      if (deadline_ != absl::InfiniteFuture()) context.set_deadline(absl::ToChronoTime(deadline_));
      {
        absl::MutexLock lock(&mu_);
        if (cancelled_) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
        current_ = &context;
      }
      status = stubs_[(first_ + attempt) % stubs_.size()]->Prefill(&context, request, response);
      {
        absl::MutexLock lock(&mu_);
        current_ = nullptr;
        if (cancelled_) return status;
      }
      const bool retryable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                             status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
      const bool lease_left = lease_micros == 0 || absl::Now() < absl::FromUnixMicros(lease_micros);
      if (status.ok() || !retryable || !lease_left) return status;
    }
    return status;
  }

  void Cancel() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (current_ != nullptr) current_->TryCancel();
  }

 private:
  const std::vector<std::unique_ptr<v1::PrefillService::Stub>>& stubs_;
  const size_t first_;
  const absl::Time deadline_;
  absl::Mutex mu_;
  grpc::ClientContext* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

DisaggClient::DisaggClient(std::shared_ptr<grpc::Channel> decode,
                           std::shared_ptr<grpc::Channel> prefill)
    : DisaggClient(std::move(decode), prefill == nullptr
                                          ? std::vector<std::shared_ptr<grpc::Channel>>{}
                                          : std::vector<std::shared_ptr<grpc::Channel>>{prefill}) {}

DisaggClient::DisaggClient(std::shared_ptr<grpc::Channel> decode,
                           const std::vector<std::shared_ptr<grpc::Channel>>& prefill)
    : decode_(v1::DecodeService::NewStub(decode)) {
  for (const auto& channel : prefill) prefill_.push_back(v1::PrefillService::NewStub(channel));
}

absl::StatusOr<DisaggResult> DisaggClient::Generate(const DisaggRequest& request,
                                                    const TokenCallback& on_tokens) {
  if (!request.local_prefill && prefill_.empty()) {
    return absl::FailedPreconditionError("no prefill worker for a disaggregated request");
  }
  v1::DecodeRequest decode_request;
  decode_request.set_request_id(request.request_id);
  decode_request.mutable_prompt_token_ids()->Add(request.prompt.begin(), request.prompt.end());
  *decode_request.mutable_sampling() = request.sampling;
  if (!request.sampling.has_seed()) {
    // Both workers must draw from the same random stream (each would pick its own seed).
    std::random_device device;
    decode_request.mutable_sampling()->set_seed((static_cast<uint64_t>(device()) << 32) | device());
  }
  decode_request.set_local_prefill(request.local_prefill);
  decode_request.set_lease_millis(request.lease_millis);

  grpc::ClientContext decode_context;
  const absl::Time deadline = request.timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + request.timeout;
  if (deadline != absl::InfiniteFuture()) decode_context.set_deadline(absl::ToChronoTime(deadline));
  PrefillAttempts prefill_attempts(prefill_, next_prefill_.fetch_add(1), deadline);
  std::unique_ptr<grpc::ClientReader<v1::DecodeResponse>> stream =
      decode_->Decode(&decode_context, decode_request);

  DisaggResult result;
  std::thread prefill_thread;
  absl::Mutex mu;
  grpc::Status prefill_status;  // guarded by mu
  bool prefill_failed = false;  // guarded by mu
  bool cancelled_by_caller = false;
  bool finished = false;
  std::optional<bool> with_logprobs;  // decided by the first token message
  bool bad_logprobs = false;
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
      *prefill_request.mutable_sampling() = decode_request.sampling();
      *prefill_request.mutable_kv_target() = message.kv_target();
      prefill_thread = std::thread([&, prefill_request = std::move(prefill_request)] {
        v1::PrefillResponse response;
        grpc::Status status = prefill_attempts.Run(prefill_request, &response);
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
      // Logprobs come with every token or with none (the request's choice): the pipeline pairs
      // them with ids message by message, so a message short of them would shift or drop some.
      const bool has_logprobs = message.tokens().logprobs_size() > 0;
      if (!with_logprobs.has_value()) with_logprobs = has_logprobs;
      if (has_logprobs != *with_logprobs ||
          (has_logprobs &&
           message.tokens().logprobs_size() != message.tokens().token_ids_size())) {
        bad_logprobs = true;
        decode_context.TryCancel();
        break;
      }
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
  if (cancelled_by_caller || bad_logprobs) {
    // Drain so Finish does not block on unread messages.
    while (stream->Read(&message)) {
    }
  }
  const grpc::Status decode_status = stream->Finish();
  if (!decode_status.ok() || cancelled_by_caller) prefill_attempts.Cancel();
  if (prefill_thread.joinable()) prefill_thread.join();

  if (cancelled_by_caller) return absl::CancelledError("request cancelled by the caller");
  if (bad_logprobs) {
    return absl::InternalError("decode worker streamed tokens without one logprob each");
  }
  {
    absl::MutexLock lock(&mu);
    if (prefill_failed) return common::FromGrpcStatus(prefill_status);
  }
  if (!decode_status.ok()) return common::FromGrpcStatus(decode_status);
  if (!finished) return absl::InternalError("decode stream ended without a final message");
  return result;
}

}  // namespace baton::router
