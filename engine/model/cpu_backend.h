// Backend on the CPU kernels of engine/kernels/cpu and a ThreadPool. Stateless apart from the
// pool pointer; see backend.h for the threading contract.
#pragma once

#include <cstdint>
#include <functional>

#include "engine/model/backend.h"
#include "engine/threading/thread_pool.h"

namespace baton::engine {

class CpuBackend : public Backend {
 public:
  // `threads` may be null (everything on the calling thread); it must outlive the backend.
  explicit CpuBackend(ThreadPool* threads) : threads_(threads) {}

  void MatMul(const WeightMatrix& w, const float* x, int64_t m, float* y) override;
  // One kernels::MatMulShared call.
  void MatMuls(std::span<const WeightMatrix* const> ws, const float* x, int64_t m,
               std::span<float* const> ys) override;
  void EmbeddingRow(const WeightMatrix& w, int64_t row, float* out) override;
  // Below 32K element operations the loop runs inline: waking the pool costs more.
  void ParallelFor(int64_t n, int64_t work,
                   const std::function<void(int64_t begin, int64_t end)>& fn) override;

 private:
  ThreadPool* threads_;
};

}  // namespace baton::engine
