// The seam between the model and the CPU kernels / thread pool: matrix products over weights of
// any supported type, embedding row lookup and a parallel-for that accepts a null pool.
// Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>

#include "engine/model/model.h"
#include "engine/threading/thread_pool.h"

namespace baton::engine {
namespace adapter {

// y[i * w.rows + r] = dot(row r of w, x[i * w.cols ...]) for i < m.
void MatMul(const WeightMatrix& w, const float* x, int64_t m, float* y,
            ThreadPool* threads);

// Row `row` of `w` as w.cols floats.
void DequantizeRow(const WeightMatrix& w, int64_t row, float* out);

// Runs fn over [0, n) split into contiguous chunks; inline when threads is null.
void ParallelFor(ThreadPool* threads, int64_t n,
                 const std::function<void(int64_t begin, int64_t end)>& fn);

}  // namespace adapter
}  // namespace baton::engine
