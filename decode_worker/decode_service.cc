#include "decode_worker/decode_service.h"

#include "common/grpc_status.h"
#include "serving/call_wait.h"
#include "serving/prompt.h"
#include "serving/sampling.h"

namespace baton::decode_worker {

namespace v1 = ::baton::internal::v1;

grpc::Status DecodeServiceImpl::Decode(grpc::ServerContext* context,
                                       const v1::DecodeRequest* request,
                                       grpc::ServerWriter<v1::DecodeResponse>* writer) {
  serving::CallLimiter::Slot slot(limiter_);
  if (!slot.admitted()) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many open Decode streams");
  }
  DecodeJob job;
  job.request_id = request->request_id();
  job.prompt.assign(request->prompt_token_ids().begin(), request->prompt_token_ids().end());
  if (absl::Status status = serving::ValidatePrompt(job.prompt, config_); !status.ok()) {
    return common::ToGrpcStatus(status);
  }
  absl::StatusOr<serving::RequestSampling> sampling = serving::FromProto(request->sampling());
  if (!sampling.ok()) return common::ToGrpcStatus(sampling.status());
  if (request->lease_millis() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "lease_millis must be >= 0");
  }
  job.sampling = *std::move(sampling);
  job.local_prefill = request->local_prefill();
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

}  // namespace baton::decode_worker
