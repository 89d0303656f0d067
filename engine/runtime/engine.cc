#include "engine/runtime/engine.h"

#include "common/status_macros.h"

namespace baton::engine {

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(std::shared_ptr<const Model> model,
                                                       const EngineOptions& options) {
  if (model == nullptr) return absl::InvalidArgumentError("null model");
  if (options.num_threads < 1) return absl::InvalidArgumentError("num_threads must be >= 1");
  std::unique_ptr<ThreadPool> threads;
  if (options.num_threads > 1) {
    ASSIGN_OR_RETURN(threads, ThreadPool::Create(options.num_threads));
  }
  return std::unique_ptr<Engine>(new Engine(std::move(model), std::move(threads)));
}

Engine::Engine(std::shared_ptr<const Model> model, std::unique_ptr<ThreadPool> threads)
    : model_(std::move(model)), threads_(std::move(threads)), forward_(model_, threads_.get()) {}

Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<KvPool>> Engine::CreateKvPool(KvDType dtype,
                                                             int32_t block_size_tokens,
                                                             int32_t num_blocks) const {
  return KvPool::Create(MakeKvLayout(dtype, block_size_tokens), num_blocks);
}

absl::Status Engine::Step(KvPool& pool, std::span<const SequenceStep> batch, StepLogits* logits,
                          const LayerDoneCallback& on_layer_done) {
  return forward_.Run(pool, batch, logits, on_layer_done);
}

}  // namespace baton::engine
