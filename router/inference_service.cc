#include "router/inference_service.h"

#include <string>

#include "absl/time/clock.h"
#include "common/grpc_status.h"

namespace baton::router {

absl::Status InferenceService::Authorize(const grpc::ServerContext& context) const {
  if (api_keys_ == nullptr || !api_keys_->enabled()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  const std::string value = it == metadata.end() ? "" : std::string(it->second.data(),
                                                                    it->second.size());
  return api_keys_->Check(value);
}

grpc::Status InferenceService::Answer(const char* method, const absl::Status& status) {
  if (metrics_ != nullptr) {
    metrics_->CountRequest(std::string("grpc_") + method, absl::StatusCodeToString(status.code()));
  }
  return common::ToGrpcStatus(status);
}

grpc::Status InferenceService::Generate(grpc::ServerContext* context,
                                        const baton::v1::GenerateRequest* request,
                                        grpc::ServerWriter<baton::v1::GenerateResponse>* writer) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return Answer("generate", auth);
  CallContext call;
  call.endpoint = "grpc";
  if (context->deadline() != std::chrono::system_clock::time_point::max()) {
    call.deadline = absl::FromChrono(context->deadline());
  }
  absl::StatusOr<baton::v1::GenerateResponse> final_message =
      backend_->Generate(*request, call, [&](const baton::v1::GenerateResponse& chunk) {
        return !context->IsCancelled() && writer->Write(chunk);
      });
  if (!final_message.ok()) return Answer("generate", final_message.status());
  writer->Write(*final_message);
  return Answer("generate", absl::OkStatus());
}

grpc::Status InferenceService::ListModels(grpc::ServerContext* context,
                                          const baton::v1::ListModelsRequest*,
                                          baton::v1::ListModelsResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return Answer("list_models", auth);
  *response = backend_->ListModels();
  return Answer("list_models", absl::OkStatus());
}

grpc::Status InferenceService::Tokenize(grpc::ServerContext* context,
                                        const baton::v1::TokenizeRequest* request,
                                        baton::v1::TokenizeResponse* response) {
  if (absl::Status auth = Authorize(*context); !auth.ok()) return Answer("tokenize", auth);
  absl::StatusOr<baton::v1::TokenizeResponse> result = backend_->Tokenize(*request);
  if (result.ok()) *response = std::move(*result);
  return Answer("tokenize", result.status());
}

}  // namespace baton::router
