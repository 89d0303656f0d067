#include "router/handoff.h"

#include <algorithm>
#include <optional>
#include <random>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "router/lease_renewer.h"

namespace baton::router {

namespace v1 = ::baton::internal::v1;

namespace {

// Runs one Prefill, moving to the picker's next worker on retryable errors while the lease and
// the deadline last. Run is called on one thread; Cancel from any other.
class PrefillAttempts {
 public:
  PrefillAttempts(const PrefillPicker& picker, absl::Time deadline, absl::Duration attempt_timeout)
      : picker_(picker), deadline_(deadline), attempt_timeout_(attempt_timeout) {}

  // `lease` renews D's lease meanwhile and says whether it is still held.
  absl::Status Run(const v1::PrefillRequest& request, const LeaseRenewer& lease,
                   v1::PrefillResponse* response) {
    absl::Status last = absl::OkStatus();
    for (int attempt = 0;; ++attempt) {
      v1::PrefillService::Stub* stub = picker_(attempt, last);
      if (stub == nullptr) {
        return attempt == 0 ? absl::UnavailableError("no prefill worker to run the prompt")
                            : last;
      }
      grpc::ClientContext context;
      const absl::Time attempt_deadline = std::min(deadline_, absl::Now() + attempt_timeout_);
      if (attempt_deadline != absl::InfiniteFuture()) {
        context.set_deadline(absl::ToChronoTime(attempt_deadline));
      }
      {
        absl::MutexLock lock(&mu_);
        if (cancelled_) return absl::CancelledError("cancelled");
        current_ = &context;
      }
      last = common::FromGrpcStatus(stub->Prefill(&context, request, response));
      {
        absl::MutexLock lock(&mu_);
        current_ = nullptr;
        if (cancelled_) return last;
      }
      if (last.ok() || !RetryablePrefillFailure(last) || !lease.Held() ||
          absl::Now() >= deadline_) {
        return last;
      }
    }
  }

  void Cancel() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (current_ != nullptr) current_->TryCancel();
  }

  bool cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

 private:
  const PrefillPicker& picker_;
  const absl::Time deadline_;
  const absl::Duration attempt_timeout_;
  absl::Mutex mu_;
  grpc::ClientContext* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

v1::DecodeRequest MakeDecodeRequest(const DisaggRequest& request) {
  v1::DecodeRequest decode_request;
  decode_request.set_request_id(request.request_id);
  decode_request.mutable_prompt_token_ids()->Add(request.prompt.begin(), request.prompt.end());
  *decode_request.mutable_sampling() = request.sampling;
  if (!request.sampling.has_seed()) {
    // Every worker of the request must draw from the same random stream.
    std::random_device device;
    decode_request.mutable_sampling()->set_seed((static_cast<uint64_t>(device()) << 32) | device());
  }
  decode_request.set_local_prefill(request.local_prefill);
  decode_request.set_lease_millis(request.lease_millis);
  return decode_request;
}

bool RetryablePrefillFailure(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsResourceExhausted(status) ||
         absl::IsDeadlineExceeded(status) || absl::IsAborted(status);
}

HandoffOutcome RunHandoff(v1::DecodeService::Stub& decode, const v1::DecodeRequest& request,
                          absl::Time deadline, absl::Duration prefill_attempt_timeout,
                          const PrefillPicker& picker, const TokenCallback& on_tokens,
                          DisaggResult* result, const serving::MonotonicClock* clock) {
  HandoffOutcome outcome;
  grpc::ClientContext decode_context;
  if (deadline != absl::InfiniteFuture()) decode_context.set_deadline(absl::ToChronoTime(deadline));
  PrefillAttempts prefill_attempts(picker, deadline, prefill_attempt_timeout);
  std::unique_ptr<grpc::ClientReader<v1::DecodeResponse>> stream =
      decode.Decode(&decode_context, request);

  std::thread prefill_thread;
  absl::Mutex mu;
  absl::Status prefill_status;  // guarded by mu
  bool prefill_failed = false;  // guarded by mu
  v1::PrefillResponse prefill_response;
  bool cancelled_by_caller = false;
  bool protocol_error = false;
  const char* protocol_problem = "";
  bool finished = false;
  bool first_message = true;
  std::optional<bool> with_logprobs;  // decided by the first token message
  v1::DecodeResponse message;
  while (stream->Read(&message)) {
    const bool first = first_message;
    first_message = false;
    if (message.has_kv_target() || message.has_local_prefill()) {
      if (!first || (message.has_kv_target() && request.local_prefill())) {
        protocol_error = true;
        protocol_problem = "decode worker sent an unexpected KvTarget or LocalPrefill";
        decode_context.TryCancel();
        break;
      }
      if (message.has_local_prefill()) {
        outcome.prefilled_on_decode = true;
        continue;
      }
      v1::PrefillRequest prefill_request;
      prefill_request.set_request_id(request.request_id());
      *prefill_request.mutable_prompt_token_ids() = request.prompt_token_ids();
      *prefill_request.mutable_sampling() = request.sampling();
      *prefill_request.mutable_kv_target() = message.kv_target();
      prefill_thread = std::thread([&, prefill_request = std::move(prefill_request)] {
        v1::PrefillResponse response;
        // D's lease is renewed while the prefill (and its retries) runs, and no longer: queueing
        // on a busy prefill worker is not a stall (router/lease_renewer.h).
        LeaseRenewer lease(decode, prefill_request.kv_target().transfer_id(),
                           prefill_request.kv_target().lease_deadline_unix_micros(), clock);
        absl::Status status = prefill_attempts.Run(prefill_request, lease, &response);
        lease.Stop();
        absl::MutexLock lock(&mu);
        prefill_status = status;
        if (status.ok()) {
          prefill_response = std::move(response);
        } else if (!prefill_attempts.cancelled()) {
          // (A prefill cancelled because Decode ended is not a prefill failure: P may well have
          // delivered, and D's own status tells what happened.)
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
        protocol_error = true;
        protocol_problem = "decode worker streamed tokens without one logprob each";
        decode_context.TryCancel();
        break;
      }
      result->tokens.insert(result->tokens.end(), message.tokens().token_ids().begin(),
                            message.tokens().token_ids().end());
      for (const baton::v1::PositionLogprobs& lp : message.tokens().logprobs()) {
        result->logprobs.push_back(lp);
      }
      outcome.tokens_relayed += message.tokens().token_ids_size();
      if (on_tokens != nullptr && !on_tokens(message.tokens())) {
        cancelled_by_caller = true;
        decode_context.TryCancel();
        break;
      }
    } else if (message.has_finished()) {
      result->finished = message.finished();
      finished = true;
    }
  }
  if (cancelled_by_caller || protocol_error) {
    // Drain so Finish does not block on unread messages.
    while (stream->Read(&message)) {
    }
  }
  const grpc::Status decode_status = stream->Finish();
  if (!decode_status.ok() || cancelled_by_caller || protocol_error) prefill_attempts.Cancel();
  if (prefill_thread.joinable()) prefill_thread.join();

  if (cancelled_by_caller) {
    outcome.failed = HandoffOutcome::Failed::kCaller;
    outcome.status = absl::CancelledError("request cancelled by the caller");
    return outcome;
  }
  if (protocol_error) {
    outcome.failed = HandoffOutcome::Failed::kDecode;
    outcome.protocol_error = true;
    outcome.status = absl::InternalError(protocol_problem);
    return outcome;
  }
  {
    absl::MutexLock lock(&mu);
    if (prefill_failed) {
      outcome.failed = HandoffOutcome::Failed::kPrefill;
      outcome.status = prefill_status;
      return outcome;
    }
    if (prefill_status.ok()) result->prefill = std::move(prefill_response);
  }
  if (!decode_status.ok()) {
    outcome.failed = HandoffOutcome::Failed::kDecode;
    outcome.status = common::FromGrpcStatus(decode_status);
    return outcome;
  }
  if (!finished) {
    outcome.failed = HandoffOutcome::Failed::kDecode;
    outcome.protocol_error = true;
    outcome.status = absl::InternalError("decode stream ended without a final message");
  }
  return outcome;
}

}  // namespace baton::router
