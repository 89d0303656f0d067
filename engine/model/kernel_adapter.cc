#include "engine/model/kernel_adapter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/logging.h"
#include "engine/model/ops.h"
#include "engine/tensor/fp16.h"

namespace baton::engine::adapter {

// Temporary scalar reference until engine/kernels/cpu lands.
void DequantizeRow(const WeightMatrix& w, int64_t row, float* out) {
  const uint8_t* p = w.data + row * w.row_bytes();
  const int64_t n = w.cols;
  switch (w.type) {
    case TensorType::kF32:
      std::memcpy(out, p, n * sizeof(float));
      return;
    case TensorType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = Fp16ToFloat(h);
      }
      return;
    case TensorType::kQ8_0:
      for (int64_t b = 0; b < n / 32; ++b) {
        const uint8_t* blk = p + b * 34;
        uint16_t h;
        std::memcpy(&h, blk, 2);
        const float d = Fp16ToFloat(h);
        for (int i = 0; i < 32; ++i) out[b * 32 + i] = d * static_cast<int8_t>(blk[2 + i]);
      }
      return;
    default:
      CHECK(false) << "type not supported yet";
  }
}

namespace {

// Q8_0 x Q8_0 as llama.cpp computes it: activations quantized to Q8_0 blocks first.
void MatMulQ8_0(const WeightMatrix& w, const float* x, int64_t m, float* y,
                threading::ThreadPool* threads) {
  const int64_t nb = w.cols / 32;
  std::vector<int8_t> xq(m * w.cols);
  std::vector<float> xd(m * nb);
  for (int64_t i = 0; i < m * nb; ++i) {
    const float* v = x + i * 32;
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[j]));
    const float d = amax / 127.0f;
    const float id = amax != 0 ? 127.0f / amax : 0.0f;
    xd[i] = Fp16ToFloat(FloatToFp16(d));
    for (int j = 0; j < 32; ++j) xq[i * 32 + j] = static_cast<int8_t>(std::nearbyint(v[j] * id));
  }
  ParallelFor(threads, w.rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const uint8_t* row = w.data + r * w.row_bytes();
      for (int64_t i = 0; i < m; ++i) {
        float sum = 0;
        for (int64_t b = 0; b < nb; ++b) {
          const uint8_t* blk = row + b * 34;
          uint16_t h;
          std::memcpy(&h, blk, 2);
          int32_t acc = 0;
          for (int j = 0; j < 32; ++j) acc += static_cast<int8_t>(blk[2 + j]) * xq[(i * nb + b) * 32 + j];
          sum += acc * (Fp16ToFloat(h) * xd[i * nb + b]);
        }
        y[i * w.rows + r] = sum;
      }
    }
  });
}

}  // namespace

void MatMul(const WeightMatrix& w, const float* x, int64_t m, float* y,
            threading::ThreadPool* threads) {
  if (w.type == TensorType::kQ8_0) return MatMulQ8_0(w, x, m, y, threads);
  ParallelFor(threads, w.rows, [&](int64_t begin, int64_t end) {
    std::vector<float> row(w.cols);
    for (int64_t r = begin; r < end; ++r) {
      DequantizeRow(w, r, row.data());
      for (int64_t i = 0; i < m; ++i) y[i * w.rows + r] = ops::Dot(row.data(), x + i * w.cols, w.cols);
    }
  });
}

void ParallelFor(threading::ThreadPool* threads, int64_t n,
                 const std::function<void(int64_t begin, int64_t end)>& fn) {
  if (n > 0) fn(0, n);
}

}  // namespace baton::engine::adapter
