// The batched transformer forward pass over a paged KV pool.
//
// One Run() call advances many sequences at once, each by any number of tokens (a prefill chunk
// or a single decode token). All sequences' token rows are concatenated into one activation
// matrix, so every weight matrix is read once per call for the whole batch; attention then runs
// per sequence over its own KV blocks. K/V of the new tokens are written into the pool.
//
// Threading: a ForwardPass owns scratch buffers and is used by one thread at a time (the caller
// of Run); inside Run the work is spread over the given ThreadPool. The Model is shared and
// immutable. The caller guarantees no one else writes the blocks of the batch during Run.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "engine/kv_cache/kv_pool.h"
#include "engine/model/backend.h"
#include "engine/model/model.h"
#include "engine/model/ops.h"
#include "engine/threading/thread_pool.h"

namespace baton::engine {

enum class LogitsMode : uint8_t {
  kNone = 0,  // no logits (e.g. a non-final prefill chunk)
  kLast = 1,  // logits of the last appended token only
  kAll = 2,   // logits of every appended token (tests, speculative scoring)
};

// One sequence's part of a batch step.
struct SequenceStep {
  // The sequence's KV blocks in position order: position p lives in block_table[p / block_size]
  // at row p % block_size. Must cover start_pos + tokens.size() positions.
  std::span<const int32_t> block_table;
  // Tokens to append (at least one), at positions start_pos, start_pos + 1, ...
  std::span<const int32_t> tokens;
  // Number of tokens of this sequence already in the pool (their K/V are read, not recomputed).
  int32_t start_pos = 0;
  LogitsMode logits = LogitsMode::kLast;
};

// Logits of a step: rows of vocab_size floats. Entry e's rows start at first_row[e] and there are
// num_rows[e] of them (0 for kNone, 1 for kLast, tokens.size() for kAll).
struct StepLogits {
  int32_t vocab_size = 0;
  std::vector<float> data;
  std::vector<int32_t> first_row;
  std::vector<int32_t> num_rows;

  // Row i of entry e. Precondition: i < num_rows[e].
  std::span<const float> Row(size_t entry, int32_t i = 0) const {
    return {data.data() + static_cast<size_t>(first_row[entry] + i) * vocab_size,
            static_cast<size_t>(vocab_size)};
  }
};

// Called after layer `layer`'s K/V of every sequence in the batch are in the pool (before that
// layer's attention and FFN run). It runs on the thread that called Run, which waits for it to
// return: keep it short (e.g. post a transfer of the layer's slabs). It must not write the
// batch's blocks.
using LayerDoneCallback = std::function<void(int32_t layer)>;

class ForwardPass {
 public:
  // On the CPU kernels. `threads` may be null (single-threaded); it must outlive the ForwardPass.
  ForwardPass(std::shared_ptr<const Model> model, ThreadPool* threads);
  // On any backend (matrix products, embedding rows and parallel loops go through it).
  ForwardPass(std::shared_ptr<const Model> model, std::unique_ptr<Backend> backend);

  // Runs one batch step. Errors (nothing written to the pool): kInvalidArgument when the pool's
  // layout does not match the model (layers, kv heads, head dim), a token id is outside the
  // vocabulary, a sequence has no tokens, a negative start_pos, a block table that does not
  // cover its positions or names a block outside the pool, positions beyond the model's
  // context length, or two entries that write into the same block.
  absl::Status Run(KvPool& pool, std::span<const SequenceStep> batch, StepLogits* logits,
                   const LayerDoneCallback& on_layer_done = nullptr);

  const Model& model() const { return *model_; }

 private:
  absl::Status Check(const KvPool& pool, std::span<const SequenceStep> batch) const;
  void Embed(std::span<const SequenceStep> batch);
  void Attention(KvPool& pool, std::span<const SequenceStep> batch, int32_t layer);
  void Layer(KvPool& pool, std::span<const SequenceStep> batch, int32_t layer,
             const LayerDoneCallback& on_layer_done);
  // out rows = RMSNorm(in rows of `width`) * weight, for every row of the step (may alias).
  void Normalize(const std::vector<float>& weight, const float* in, int64_t width, float* out);
  // q_, k_, v_ from xn_ through separate or fused projections.
  void Project(const LayerWeights& w);
  // xn_ = down(act(gate(xn_)) * up(xn_)) through separate or fused gate/up.
  void FeedForward(const LayerWeights& w);
  ops::RopeParams LayerRope(int32_t layer) const;
  void Logits(std::span<const SequenceStep> batch, StepLogits* logits);
  // y[m, w.rows] = x[m, w.cols] * w^T.
  void Linear(const WeightMatrix& w, const float* x, int64_t m, float* y);

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Backend> backend_;
  // Per-row scratch, sized for the current batch's total row count.
  int64_t rows_ = 0;
  std::vector<float> x_, xn_, q_, k_, v_, attn_, gate_, up_, qkv_;
};

}  // namespace baton::engine
