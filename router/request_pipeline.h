// The router's one request pipeline (InferenceBackend): every front end's request goes through
//   validate -> chat template -> tokenize -> limits -> admission -> workers (GenerationRunner)
//   -> incremental detokenization -> stop strings -> valid UTF-8 -> usage, timings and metrics,
// so each rule lives here once.
//
// Limits: a prompt must leave room for at least one generated token in the model's context; an
// explicit max_tokens must fit beside the prompt (kInvalidArgument naming both numbers); an unset
// max_tokens (0) generates up to the context's end.
//
// Thread-safe; Generate blocks its caller.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "router/admission.h"
#include "router/generation_runner.h"
#include "router/inference_backend.h"
#include "router/router_metrics.h"
#include "router/served_model.h"

namespace baton::router {

struct PipelineOptions {
  // Admission: requests running at once, and waiting beyond those.
  int32_t max_running = 64;
  int32_t max_waiting = 256;
  // Prefill on the decode worker (colocated serving) instead of a prefill worker.
  bool local_prefill = false;
  // Upper bound of every request's duration (and of one without a client deadline).
  absl::Duration request_timeout = absl::Minutes(10);
};

class RequestPipeline : public InferenceBackend {
 public:
  // `model`, `runner` and `metrics` must outlive the pipeline.
  RequestPipeline(const ServedModel* model, GenerationRunner* runner, RouterMetrics* metrics,
                  PipelineOptions options);

  absl::StatusOr<baton::v1::GenerateResponse> Generate(const baton::v1::GenerateRequest& request,
                                                       const CallContext& context,
                                                       const ChunkSink& on_chunk) override;
  baton::v1::ListModelsResponse ListModels() const override;
  absl::StatusOr<baton::v1::TokenizeResponse> Tokenize(
      const baton::v1::TokenizeRequest& request) const override;
  absl::StatusOr<std::string> ChatTemplateText(const std::string& model) const override;

  const Admission& admission() const { return admission_; }

 private:
  // The served model `name` names (empty: the only one). kNotFound otherwise.
  absl::StatusOr<const ServedModel*> FindModel(const std::string& name) const;
  absl::StatusOr<baton::v1::GenerateResponse> Run(const baton::v1::GenerateRequest& request,
                                                  const CallContext& context,
                                                  const ChunkSink& on_chunk);

  const ServedModel* model_;
  GenerationRunner* runner_;
  RouterMetrics* metrics_;
  const PipelineOptions options_;
  Admission admission_;
};

}  // namespace baton::router
