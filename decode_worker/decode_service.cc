#include "decode_worker/decode_service.h"

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

}  // namespace baton::decode_worker
