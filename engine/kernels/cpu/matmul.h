// Matrix-vector / matrix-matrix products of a quantized weight matrix with float activations,
// the hot loop of the forward pass. Picks the fastest kernel family the CPU supports at run time
// (KernelVariant: AVX-512 with VNNI, AVX-512, AVX2, else portable scalar code); every kernel is
// tested against MatMulReference. Thread-safe: concurrent calls may share weights and
// a pool (the pool serializes them).
#pragma once

#include <cstdint>

#include "engine/tensor/tensor_type.h"
#include "engine/threading/thread_pool.h"

namespace baton::engine::kernels {

// y[i * n_rows + r] = dot(W row r, x row i) for r < n_rows, i < m.
// W: n_rows rows of k elements of type t, row r at w + r * RowBytes(t, k) (any alignment).
// x: m rows of k floats, row-major. y: m * n_rows floats, must not alias x or w.
// Preconditions (CHECKed): k > 0 and k % BlockElements(t) == 0; n_rows, m >= 0.
// Integer-quantized types quantize x to 8-bit blocks (32 or 256 elements, one scale each) once
// per call, as ggml does, so results differ from MatMulReference by at most
// sum_j |w_j| * amax(x's block holding j) * (1/254 + 1/2048 for 32-element blocks, whose scale
// is kept in fp16 as ggml does) (plus float rounding); f32/f16/bf16 are exact products with
// fp32 accumulation. Q8_0 reproduces llama.cpp's x86 arithmetic bit for bit on every kernel
// (ggml's activation quantizer, per-block fma into 8 lanes, its horizontal-sum order). Without
// AVX-512, f32 rows are summed bit for bit in ggml_vec_dot_f32's order (row_kernels.h).
// Scratch buffers are per calling thread.
// Work is split over `pool` by weight rows (nullptr, or less than ~64K multiply-adds: calling
// thread only); each weight row is read from memory once for all m activation rows.
void MatMul(TensorType t, const void* w, int64_t n_rows, int64_t k, const float* x, int64_t m,
            float* y, ThreadPool* pool);

// Same contract, portable scalar code: dequantizes each row to float and accumulates in double.
// Single-threaded; for tests.
void MatMulReference(TensorType t, const void* w, int64_t n_rows, int64_t k, const float* x,
                     int64_t m, float* y);

// Name of the kernel MatMul uses on this CPU for `t` ("avx512vnni", "avx2", "scalar", ...).
const char* MatMulKernelName(TensorType t);

// The kernel families, in order of preference from the last. A family without a kernel for a
// type uses the next lower family's (AVX-512 machines run the AVX2 kernels of the types that
// have no AVX-512 one). From a few activation rows on, MatMul takes the AVX2 tiled kernels
// wherever AVX2 is allowed, AVX-512 machines included (matmul.cc, tiled_kernels.h).
enum class KernelVariant {
  kScalar = 0,      // portable C++: ggml's rounding for Q8_0 and f32, else dequantize + f32 dot
  kAvx2 = 1,        // AVX2, FMA and F16C
  kAvx512 = 2,      // AVX-512 F/BW/VL/DQ with F16C and FMA: kAvx512Vnni's kernels without VNNI
  kAvx512Vnni = 3,  // AVX-512 F/BW/VL/DQ/VNNI with F16C and FMA
};
inline constexpr KernelVariant kAllKernelVariants[] = {
    KernelVariant::kScalar, KernelVariant::kAvx2, KernelVariant::kAvx512,
    KernelVariant::kAvx512Vnni};

const char* KernelVariantName(KernelVariant v);
// Whether this CPU has the features `v` needs.
bool CpuSupportsKernelVariant(KernelVariant v);

// Limits MatMul to families up to `v` (default kAvx512Vnni: the best the CPU supports), so
// tests can run every family the machine has. Not thread-safe with concurrent MatMul calls.
void SetMaxKernelVariant(KernelVariant v);

// SetMaxKernelVariant(kScalar) when `force`, else back to the default.
void SetForceScalarKernels(bool force);

}  // namespace baton::engine::kernels
