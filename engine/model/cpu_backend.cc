#include "engine/model/cpu_backend.h"

#include <vector>

#include "common/logging.h"
#include "engine/kernels/cpu/matmul.h"
#include "engine/kernels/cpu/packed_weights.h"
#include "engine/kernels/cpu/quantize.h"

namespace baton::engine {
namespace {

constexpr int64_t kMinParallelElements = 32 * 1024;

}  // namespace

void CpuBackend::MatMul(const WeightMatrix& w, const float* x, int64_t m, float* y) {
  if (w.cpu_packed != nullptr) {
    kernels::MatMul(*w.cpu_packed, x, m, y, threads_);
  } else {
    kernels::MatMul(w.type, w.data, w.rows, w.cols, x, m, y, threads_);
  }
}

void CpuBackend::MatMuls(std::span<const WeightMatrix* const> ws, const float* x, int64_t m,
                         std::span<float* const> ys) {
  CHECK(ws.size() == ys.size());
  if (ws.empty()) return;
  std::vector<kernels::SharedProduct> products;
  products.reserve(ws.size());
  for (size_t i = 0; i < ws.size(); ++i) {
    CHECK(ws[i]->cols == ws[0]->cols) << "MatMuls of different input widths";
    products.push_back({ws[i]->type, ws[i]->data, ws[i]->cpu_packed, ws[i]->rows, ys[i]});
  }
  kernels::MatMulShared(products, ws[0]->cols, x, m, threads_);
}

void CpuBackend::EmbeddingRow(const WeightMatrix& w, int64_t row, float* out) {
  if (w.cpu_packed != nullptr) {  // the file's pages were released after repacking
    kernels::DequantizePackedRow(*w.cpu_packed, row, out);
    return;
  }
  kernels::DequantizeRow(w.type, w.data + row * w.row_bytes(), out, w.cols);
}

void CpuBackend::ParallelFor(int64_t n, int64_t work,
                             const std::function<void(int64_t begin, int64_t end)>& fn) {
  if (threads_ == nullptr || work < kMinParallelElements) {
    if (n > 0) fn(0, n);
    return;
  }
  threads_->ParallelFor(n, fn);
}

}  // namespace baton::engine
