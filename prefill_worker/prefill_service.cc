#include "prefill_worker/prefill_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "serving/call_wait.h"
#include "serving/kv_target_proto.h"
#include "serving/request.h"

namespace baton::prefill_worker {

namespace v1 = ::baton::internal::v1;

grpc::Status PrefillServiceImpl::Prefill(grpc::ServerContext* context,
                                         const v1::PrefillRequest* request,
                                         v1::PrefillResponse* response) {
  serving::CallLimiter::Slot slot(limiter_);
  if (!slot.admitted()) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many open Prefill calls");
  }
  absl::StatusOr<serving::PromptAndSampling> parsed =
      serving::ParsePromptAndSampling(request->prompt_token_ids(), request->sampling(), config_);
  if (!parsed.ok()) return common::ToGrpcStatus(parsed.status());
  PrefillJob job;
  job.request_id = request->request_id();
  job.prompt = std::move(parsed->prompt);
  job.sampling = std::move(parsed->sampling);
  absl::StatusOr<serving::WireKvTarget> target = serving::WireKvTargetFromProto(request->kv_target());
  if (!target.ok()) return common::ToGrpcStatus(target.status());
  if (target->num_tokens != static_cast<int32_t>(job.prompt.size())) {
    return common::ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
        "target holds ", target->num_tokens, " tokens, the prompt has ", job.prompt.size())));
  }
  if (absl::Status status = kvtransfer::CheckLayoutCompatible(layout_, target->target);
      !status.ok()) {
    return common::ToGrpcStatus(status);
  }
  job.target = *std::move(target);
  if (context->deadline() != std::chrono::system_clock::time_point::max()) {
    job.deadline = absl::FromChrono(context->deadline());
  }
  auto result = std::make_shared<PrefillResultQueue>();
  job.result = result;
  const uint64_t id = scheduler_->Submit(std::move(job));
  std::optional<absl::StatusOr<v1::PrefillResponse>> done =
      serving::NextOrCancelled(*result, *context);
  if (!done.has_value()) {
    scheduler_->Cancel(id);
    return grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled");
  }
  if (!done->ok()) return common::ToGrpcStatus(done->status());
  *response = **std::move(done);
  return grpc::Status::OK;
}

}  // namespace baton::prefill_worker
