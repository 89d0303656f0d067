#include "engine/model/kernel_adapter.h"

#include "engine/kernels/cpu/matmul.h"
#include "engine/kernels/cpu/quantize.h"

namespace baton::engine::adapter {

void DequantizeRow(const WeightMatrix& w, int64_t row, float* out) {
  kernels::DequantizeRow(w.type, w.data + row * w.row_bytes(), out, w.cols);
}

void MatMul(const WeightMatrix& w, const float* x, int64_t m, float* y, ThreadPool* threads) {
  kernels::MatMul(w.type, w.data, w.rows, w.cols, x, m, y, threads);
}

void ParallelFor(ThreadPool* threads, int64_t n,
                 const std::function<void(int64_t begin, int64_t end)>& fn) {
  if (threads == nullptr) {
    if (n > 0) fn(0, n);
    return;
  }
  threads->ParallelFor(n, fn);
}

}  // namespace baton::engine::adapter
