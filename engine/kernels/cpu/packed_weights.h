// Weight matrices repacked once, when a model is loaded, into the layout the fastest kernel on
// this CPU reads (llama.cpp calls this "repacking"). Today, on machines with AVX2, FMA and F16C:
// Q4_0, F16 and BF16, as panels that interleave 8 rows (block by block, element by element),
// so a decode step streams one contiguous panel instead of 8 rows and no thread transposes
// rows during prefill. The repacked copy has the same size as the source; the caller may drop
// the source's pages afterwards (a model releases its file's pages as packing proceeds, so
// resident memory stays about one copy). The copy asks for transparent huge pages, which decode
// streams faster than 4 KiB pages.
// Results are bit-identical to MatMul over the source, except F16/BF16 below 4 activation
// rows: there the source's row kernels sum in ggml's order, the packed kernel as its GEMM does
// at every m (a row's products never depend on the batch). Immutable after Create: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "engine/tensor/tensor_type.h"
#include "engine/threading/thread_pool.h"

namespace baton::engine::kernels {

// Told of consecutive pieces of the source weights, in order, once they have been copied.
using ReleaseSourceFn = std::function<void(const uint8_t* begin, size_t bytes)>;

class PackedWeights {
 public:
  // The repacked copy of W (n_rows x k of type t, as MatMul takes it), or nullptr when no
  // kernel allowed on this CPU reads t repacked (then MatMul over the source is the fast path).
  // `source` must outlive the result: MatMul falls back to it when the packed kernel is not
  // allowed at call time (SetMaxKernelVariant). Preconditions as MatMul's.
  static std::unique_ptr<const PackedWeights> Create(TensorType t, const void* source,
                                                     int64_t n_rows, int64_t k,
                                                     const ReleaseSourceFn& release = nullptr);
  ~PackedWeights();
  PackedWeights(const PackedWeights&) = delete;
  PackedWeights& operator=(const PackedWeights&) = delete;

  TensorType type() const { return type_; }
  const void* source() const { return source_; }
  int64_t n_rows() const { return n_rows_; }
  int64_t k() const { return k_; }
  const uint8_t* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  PackedWeights(TensorType t, const void* source, int64_t n_rows, int64_t k, size_t bytes);

  TensorType type_;
  const void* source_;
  int64_t n_rows_;
  int64_t k_;
  size_t bytes_;
  uint8_t* data_;  // 64-byte aligned, owned
};

// Row `row` of the weights as k floats, read from the packed copy (the same values
// DequantizeRow gives for the source row), so that a model that repacked its weights need not
// touch the source's pages again (embedding lookups of a tied embedding).
void DequantizePackedRow(const PackedWeights& p, int64_t row, float* out);

// Whether PackedWeights::Create makes a copy for t on this CPU (with the kernel families allowed
// now).
bool MatMulReadsPacked(TensorType t);
// The name of the kernel that reads t's packed copy now ("avx512vnni-packed", "avx2-packed",
// ...), or "" when none does.
const char* PackedKernelName(TensorType t);

// MatMul(p.type(), p.source(), p.n_rows(), p.k(), x, m, y, pool), bit for bit, reading the
// packed copy when its kernel is allowed now and the source otherwise.
void MatMul(const PackedWeights& p, const float* x, int64_t m, float* y, ThreadPool* pool);

// One of several products of the same activations (MatMulShared): W of n_rows x k of type t,
// optionally with its packed copy, into y (m x n_rows).
struct SharedProduct {
  TensorType t;
  const void* w;
  const PackedWeights* packed;  // or nullptr
  int64_t n_rows;
  float* y;
};

// Every product's MatMul (over its packed copy when there is one), bit for bit, with x
// quantized once for the products whose kernels read it alike and their work in one parallel
// loop (no barrier between them): Q/K/V, gate/up. The ys must not overlap x or each other.
void MatMulShared(std::span<const SharedProduct> products, int64_t k, const float* x, int64_t m,
                  ThreadPool* pool);

}  // namespace baton::engine::kernels
