#include "decode_worker/decode_service.h"

#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#include "common/grpc_status.h"
#include "serving/call_wait.h"
#include "serving/request.h"

namespace baton::decode_worker {

namespace v1 = ::baton::internal::v1;

grpc::Status DecodeServiceImpl::Decode(grpc::ServerContext* context,
                                       const v1::DecodeRequest* request,
                                       grpc::ServerWriter<v1::DecodeResponse>* writer) {
  serving::CallLimiter::Slot slot(limiter_);
  if (!slot.admitted()) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many open Decode streams");
  }
  absl::StatusOr<serving::PromptAndSampling> parsed =
      serving::ParsePromptAndSampling(request->prompt_token_ids(), request->sampling(), config_);
  if (!parsed.ok()) return common::ToGrpcStatus(parsed.status());
  if (request->lease_millis() < 0 || request->local_prefill_max_tokens() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "lease_millis and local_prefill_max_tokens must be >= 0");
  }
  DecodeJob job;
  job.request_id = request->request_id();
  job.prompt = std::move(parsed->prompt);
  job.sampling = std::move(parsed->sampling);
  job.local_prefill = request->local_prefill();
  job.local_prefill_max_tokens = request->local_prefill_max_tokens();
  job.lease = absl::Milliseconds(request->lease_millis());
  auto events = std::make_shared<DecodeEventQueue>();
  job.events = events;
  const uint64_t id = scheduler_->Submit(std::move(job));

  while (true) {
    std::optional<DecodeEvent> event = serving::NextOrCancelled(*events, *context);
    if (!event.has_value()) {
      scheduler_->Cancel(id);
      return grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled");
    }
    if (!event->status.ok()) return common::ToGrpcStatus(event->status);
    if (!writer->Write(event->response)) {
      scheduler_->Cancel(id);
      return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    }
    if (event->last) return grpc::Status::OK;
  }
}

grpc::Status DecodeServiceImpl::RenewLease(grpc::ServerContext* context,
                                           const v1::RenewLeaseRequest* request,
                                           v1::RenewLeaseResponse* response) {
  uint64_t id = 0;
  if (!absl::SimpleAtoi(request->transfer_id(), &id) || id == 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("transfer id '", request->transfer_id(),
                                     "' is not a positive integer"));
  }
  auto answer = std::make_shared<serving::EventQueue<absl::StatusOr<LeaseRenewal>>>();
  scheduler_->RenewLease(
      id, [answer](absl::StatusOr<LeaseRenewal> renewal) { answer->Push(std::move(renewal)); });
  // The scheduler answers between two engine steps; one that stopped never does, so the wait
  // ends with the caller too, or after a bound far above any step.
  std::optional<absl::StatusOr<LeaseRenewal>> renewal =
      serving::NextOrCancelled(*answer, *context, absl::Now() + absl::Seconds(30));
  if (!renewal.has_value()) {
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the decode scheduler did not answer");
  }
  if (!renewal->ok()) return common::ToGrpcStatus(renewal->status());
  response->set_lease_millis(absl::ToInt64Milliseconds((*renewal)->lease));
  response->set_lease_deadline_unix_micros(absl::ToUnixMicros((*renewal)->deadline));
  return grpc::Status::OK;
}

}  // namespace baton::decode_worker
