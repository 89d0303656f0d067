// The engine runtime: the API the prefill and decode workers build on.
//
//   ASSIGN_OR_RETURN(auto model, Model::Load("/models/llama.gguf"));      // shared, immutable
//   ASSIGN_OR_RETURN(auto engine, Engine::Create(model, {.num_threads = 2}));
//   ASSIGN_OR_RETURN(auto pool, engine->CreateKvPool(KvDType::kF16, 16, 4096));
//   BlockTable seq;                                         // one per sequence
//   RETURN_IF_ERROR(seq.Reserve(*pool, prompt.size() + 1));
//   SequenceStep step{seq.blocks(), prompt, seq.num_tokens(), LogitsMode::kLast};
//   StepLogits logits;
//   RETURN_IF_ERROR(engine->Step(*pool, {&step, 1}, &logits, on_layer_done));
//   seq.Advance(prompt.size());
//   SampleResult next = sampler->Sample(logits.Row(0), history);
//
// A batch step may mix sequences in prefill (many tokens, possibly a chunk on top of cached
// positions) and decode (one token); weights are read once per step for all of them. Sequences
// may share blocks they only read (a common prefix) but never a block they append into. KV of the appended tokens is written into the pool; the
// optional per-layer callback fires once a layer's K/V for the whole batch are in the pool, so
// a prefill worker can ship layer L while layer L+1 computes (slabs are per (layer, block),
// see kv_cache/kv_layout.h).
//
// Threading: Model is immutable and shared by any number of Engines. An Engine (its thread pool
// and scratch) is driven by one thread at a time, typically a worker's scheduler loop; Step is
// not reentrant. KvPool block accounting is thread-safe; its memory is not synchronised.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/kv_cache/block_table.h"
#include "engine/kv_cache/kv_layout.h"
#include "engine/kv_cache/kv_pool.h"
#include "engine/model/forward.h"
#include "engine/model/model.h"
#include "engine/sampler/sampler.h"

namespace baton::engine {

struct EngineOptions {
  // Threads used inside one Step (the calling thread included). >= 1.
  int32_t num_threads = 1;
};

class Engine {
 public:
  // kInvalidArgument when model is null or num_threads < 1.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(std::shared_ptr<const Model> model,
                                                        const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const Model& model() const { return *model_; }
  const ModelConfig& config() const { return model_->config(); }
  std::shared_ptr<const Model> shared_model() const { return model_; }

  // The pool layout for this model with the given KV dtype and block size.
  KvLayout MakeKvLayout(KvDType dtype, int32_t block_size_tokens = 16) const {
    return config().MakeKvLayout(dtype, block_size_tokens);
  }
  // A fresh pool of `num_blocks` blocks in MakeKvLayout(dtype, block_size_tokens); see
  // KvPool::Create for errors.
  absl::StatusOr<std::unique_ptr<KvPool>> CreateKvPool(KvDType dtype, int32_t block_size_tokens,
                                                       int32_t num_blocks) const;

  // Runs one batch step (see ForwardPass::Run for the contract and error codes). On success
  // the K/V of every appended token are in `pool` and `logits` (may be null when no entry wants
  // logits) holds the requested rows; callers then Advance() their BlockTables.
  absl::Status Step(KvPool& pool, std::span<const SequenceStep> batch, StepLogits* logits,
                    const LayerDoneCallback& on_layer_done = nullptr);

  ThreadPool* thread_pool() const { return threads_.get(); }

 private:
  Engine(std::shared_ptr<const Model> model, std::unique_ptr<ThreadPool> threads);

  std::shared_ptr<const Model> model_;
  std::unique_ptr<ThreadPool> threads_;
  ForwardPass forward_;
};

}  // namespace baton::engine
