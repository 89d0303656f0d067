// The public gRPC API, baton.v1.Inference, as a thin adapter over the InferenceBackend: the
// client's deadline becomes the request's, a cancelled or vanished client cancels the request on
// the workers, and API keys (when configured) come from the "authorization" metadata
// ("Bearer <key>").
//
// Thread-safe (gRPC's synchronous server runs each call on its own thread).
#pragma once

#include "grpcpp/grpcpp.h"
#include "proto/baton/v1/inference.grpc.pb.h"
#include "router/api_keys.h"
#include "router/inference_backend.h"
#include "router/router_metrics.h"

namespace baton::router {

class InferenceService final : public baton::v1::Inference::Service {
 public:
  // All three must outlive the service. `metrics` may be null.
  InferenceService(InferenceBackend* backend, const ApiKeys* api_keys, RouterMetrics* metrics)
      : backend_(backend), api_keys_(api_keys), metrics_(metrics) {}

  grpc::Status Generate(grpc::ServerContext* context, const baton::v1::GenerateRequest* request,
                        grpc::ServerWriter<baton::v1::GenerateResponse>* writer) override;
  grpc::Status ListModels(grpc::ServerContext* context, const baton::v1::ListModelsRequest* request,
                          baton::v1::ListModelsResponse* response) override;
  grpc::Status Tokenize(grpc::ServerContext* context, const baton::v1::TokenizeRequest* request,
                        baton::v1::TokenizeResponse* response) override;

 private:
  absl::Status Authorize(const grpc::ServerContext& context) const;
  grpc::Status Answer(const char* method, const absl::Status& status);

  InferenceBackend* backend_;
  const ApiKeys* api_keys_;
  RouterMetrics* metrics_;
};

}  // namespace baton::router
