// The seam between the forward pass and the hardware it runs on: products with weight matrices
// of any supported type, embedding rows and parallel loops. ForwardPass calls only these for its
// heavy work, so another device (a CUDA implementation) fills this interface without changes to
// the model code; CpuBackend (cpu_backend.h) is the first implementation.
// Thread safety: one ForwardPass calls its Backend from one thread at a time; an implementation
// may run the work of one call on many threads.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "engine/model/model.h"

namespace baton::engine {

class Backend {
 public:
  virtual ~Backend() = default;

  // y[i * w.rows + r] = dot(row r of w, x[i * w.cols ...]) for i < m. x and y hold m rows.
  virtual void MatMul(const WeightMatrix& w, const float* x, int64_t m, float* y) = 0;

  // ys[i] = the product of *ws[i] with x (m rows of the common w.cols), for products of the same
  // activations (Q/K/V, gate/up). An implementation may share work between them (quantize x
  // once, one parallel loop) but gives exactly what separate MatMul calls give; this default
  // makes those calls.
  virtual void MatMuls(std::span<const WeightMatrix* const> ws, const float* x, int64_t m,
                       std::span<float* const> ys) {
    for (size_t i = 0; i < ws.size(); ++i) MatMul(*ws[i], x, m, ys[i]);
  }

  // Row `row` of `w` as w.cols floats (embedding lookup). Precondition: row < w.rows.
  virtual void EmbeddingRow(const WeightMatrix& w, int64_t row, float* out) = 0;

  // Runs fn over [0, n) split into contiguous chunks, returning when all are done. `work`
  // estimates the element operations of the whole loop, so an implementation can keep small
  // loops on the calling thread.
  virtual void ParallelFor(int64_t n, int64_t work,
                           const std::function<void(int64_t begin, int64_t end)>& fn) = 0;
};

}  // namespace baton::engine
