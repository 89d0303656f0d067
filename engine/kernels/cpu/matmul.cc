#include "engine/kernels/cpu/matmul.h"

#include <algorithm>
#include <atomic>
#include <span>
#include <vector>

#include "common/logging.h"
#include "engine/kernels/cpu/activations.h"
#include "engine/kernels/cpu/matmul_testing.h"
#include "engine/kernels/cpu/packed_weights.h"
#include "engine/kernels/cpu/quantize.h"
#include "engine/kernels/cpu/row_kernels.h"
#include "engine/kernels/cpu/tiled_kernels.h"

namespace baton::engine::kernels {
namespace {

std::atomic<KernelVariant> max_variant{KernelVariant::kAvx512Vnni};
// The builds behind the two AVX-512 tiers (replaced by SetAvx512FamiliesForTesting).
std::atomic<const Avx512Family*> avx512_vnni_family{&kAvx512VnniKernels};
std::atomic<const Avx512Family*> avx512_family{&kAvx512Kernels};

bool Allowed(KernelVariant v) {
  return max_variant.load() >= v && CpuSupportsKernelVariant(v);
}

// The AVX-512 build of the best AVX-512 tier allowed here, or nullptr.
const Avx512Family* AllowedAvx512Family() {
  if (Allowed(KernelVariant::kAvx512Vnni)) return avx512_vnni_family.load();
  if (Allowed(KernelVariant::kAvx512)) return avx512_family.load();
  return nullptr;
}

// The first of the families allowed here, best first, that has a row kernel for `t`.
KernelChoice ChooseKernel(TensorType t) {
  KernelChoice c;
  if (const Avx512Family* f = AllowedAvx512Family()) c = f->kernel(t);
  if (c.kernel == nullptr && Allowed(KernelVariant::kAvx2)) c = Avx2Kernel(t);
  if (c.kernel == nullptr) c = ScalarKernel(t);
  return c;
}

// The tiled kernel for `t` when AVX2 is allowed, also where an AVX-512 family is: its register
// tiles beat AVX-512 rows from a few activation rows on (1.3-1.9x in matmul_bench's prefill and
// batched shapes on a Zen 4). Where the AVX-512 VNNI tier is allowed, the tiles' AVX-512 VL +
// VNNI build, bit-identical to the AVX2 one. A row's products still do not depend on the batch:
// the AVX-512 families have no row kernel for Q4_0, Q4_K and Q6_K (the AVX2 ones round as the
// tiles), Q8_0 rounds as ggml on every tier, and F16/BF16 weights a model repacked are read by
// the AVX2 packed kernel at every m.
TiledKernelChoice ChooseTiledKernel(TensorType t) {
  if (!Allowed(KernelVariant::kAvx2)) return {};
  if (Allowed(KernelVariant::kAvx512Vnni)) {
    if (const TiledKernelChoice c = Avx512VnniTiledKernel(t); c.kernel != nullptr) return c;
  }
  return Avx2TiledKernel(t);
}

// The kernel over weights repacked for `t`, when MatMul would otherwise take the AVX2 tiled one:
// with VNNI where that tier is allowed (same layout, same results), else AVX2's.
TiledKernelChoice ChoosePackedKernel(TensorType t) {
  if (ChooseTiledKernel(t).kernel == nullptr) return {};
  if (Allowed(KernelVariant::kAvx512Vnni)) {
    if (const TiledKernelChoice c = Avx512VnniPackedKernel(t); c.kernel != nullptr) return c;
  }
  return Avx2PackedKernel(t);
}

// Activation rows from which MatMul quantizes on the pool.
constexpr int64_t kParallelQuantizeRows = 16;

using DotFn = float (*)(const float*, const float*, int64_t);

// Generic kernel: dequantize the row once into a per-thread buffer, then dot it with every
// activation row.
void DequantizeThenDot(TensorType t, DotFn dot, const uint8_t* w_row, const RowArgs& a,
                       float* out, int64_t out_stride) {
  thread_local std::vector<float> row;
  row.resize(a.k);
  const float* wf = reinterpret_cast<const float*>(w_row);
  if (t != TensorType::kF32) {
    DequantizeRow(t, w_row, row.data(), a.k);
    wf = row.data();
  }
  for (int64_t i = a.i0; i < a.i0 + a.m; ++i) out[i * out_stride] = dot(wf, a.x + i * a.k, a.k);
}

}  // namespace

const char* KernelVariantName(KernelVariant v) {
  switch (v) {
    case KernelVariant::kScalar: return "scalar";
    case KernelVariant::kAvx2: return "avx2";
    case KernelVariant::kAvx512: return "avx512";
    case KernelVariant::kAvx512Vnni: return "avx512vnni";
  }
  return "unknown";
}

bool CpuSupportsKernelVariant(KernelVariant v) {
  switch (v) {
    case KernelVariant::kScalar: return true;
    case KernelVariant::kAvx2: return CpuHasAvx2Kernels();
    case KernelVariant::kAvx512: return avx512_family.load()->cpu_supported();
    case KernelVariant::kAvx512Vnni: return avx512_vnni_family.load()->cpu_supported();
  }
  return false;
}

void SetMaxKernelVariant(KernelVariant v) { max_variant.store(v); }

void SetAvx512FamiliesForTesting(const Avx512Family* vnni, const Avx512Family* no_vnni) {
  avx512_vnni_family.store(vnni != nullptr ? vnni : &kAvx512VnniKernels);
  avx512_family.store(no_vnni != nullptr ? no_vnni : &kAvx512Kernels);
}

void SetForceScalarKernels(bool force) {
  SetMaxKernelVariant(force ? KernelVariant::kScalar : KernelVariant::kAvx512Vnni);
}

const char* MatMulKernelName(TensorType t) {
  const KernelChoice c = ChooseKernel(t);
  if (c.kernel != nullptr) return c.name;
  if (AllowedAvx512Family() != nullptr) return "dequantize+avx512";
  if (Allowed(KernelVariant::kAvx2)) return "dequantize+avx2";
  return "scalar";
}

namespace {

// One product's kernel choice: the tiled kernel over panels of kPanelRows weight rows, else the
// row kernel (or dequantize + dot) over single rows. Its work comes in `units` (panels or rows).
struct Plan {
  TensorType t;
  const uint8_t* w;  // the source, or the packed copy for a packed tiled kernel
  int64_t n_rows;
  size_t row_bytes;
  float* y;
  KernelChoice choice;
  TiledKernelChoice tiled;
  ActivationForm form;
  int bias;
  bool quantizes;  // reads activations quantized to `form`

  int64_t units() const {
    return tiled.kernel != nullptr ? (n_rows + kPanelRows - 1) / kPanelRows : n_rows;
  }
  // Whether `other` can share this plan's quantized activations and parallel loop.
  bool SharesWith(const Plan& other) const {
    return (tiled.kernel != nullptr) == (other.tiled.kernel != nullptr) &&
           quantizes == other.quantizes &&
           (!quantizes || (form == other.form && bias == other.bias));
  }
};

// `packed`, when not null, is w repacked; it is read when its kernel is allowed now, else w is.
Plan MakePlan(TensorType t, const void* w, const PackedWeights* packed, int64_t n_rows, int64_t k,
              int64_t m, float* y) {
  CHECK(k > 0 && k % BlockElements(t) == 0) << "MatMul k=" << k << " for " << TensorTypeName(t);
  CHECK(n_rows >= 0 && m >= 0);
  Plan p{t, static_cast<const uint8_t*>(w), n_rows, RowBytes(t, k), y, ChooseKernel(t),
         ChooseTiledKernel(t), ActivationForm::kFloat, 0, false};
  if (packed != nullptr) {
    if (const TiledKernelChoice kernel = ChoosePackedKernel(t); kernel.kernel != nullptr) {
      p.tiled = kernel;
      p.w = packed->data();
    }
  }
  if (m < p.tiled.min_rows) p.tiled = {};
  p.form = p.tiled.kernel != nullptr ? p.tiled.form : p.choice.form;
  p.bias = p.tiled.kernel != nullptr ? p.tiled.bias : p.choice.bias;
  p.quantizes = (p.choice.kernel != nullptr || p.tiled.kernel != nullptr) &&
                p.form != ActivationForm::kFloat;
  return p;
}

// Products of plans that share their activations (Plan::SharesWith): x quantized once, then one
// parallel loop over all their units, so none waits at a barrier between them.
void RunPlans(std::span<const Plan> plans, int64_t k, const float* x, int64_t m,
              ThreadPool* pool) {
  int64_t total_units = 0, macs = 0;
  for (const Plan& p : plans) {
    total_units += p.units();
    macs += p.n_rows * k * m;
  }
  if (total_units == 0 || m == 0) return;
  const Plan& first = plans.front();
  const Avx512Family* avx512 = AllowedAvx512Family();
  // Without AVX-512, f32 rows (and dequantized rows of the types with no kernel) are summed in
  // llama.cpp's order (row_kernels.h), bit for bit on AVX2 and in portable code.
  DotFn dot = DotF32Scalar;
  if (avx512 != nullptr) {
    dot = avx512->dot_f32;
  } else if (Allowed(KernelVariant::kAvx2)) {
    dot = DotF32Avx2;
  }

  RowArgs args;
  args.m = m;
  args.k = k;
  args.x = x;
  // Prepared by the pool (16+ rows) or the calling thread, read by all workers; kept per calling
  // thread so decode steps reuse the buffers instead of allocating.
  thread_local Q8Activations q8;
  if (first.quantizes) {
    const int block = first.form == ActivationForm::kQ8Block32 ? 32 : 256;
    auto quantize_rows = QuantizeActivationRows;
    if (avx512 != nullptr) {
      quantize_rows = avx512->quantize_activation_rows;
    } else if (Allowed(KernelVariant::kAvx2)) {
      quantize_rows = QuantizeActivationRowsAvx2;
    }
    // (By pointer: inside the lambda `q8` would name the worker thread's own buffer.)
    Q8Activations* shared = &q8;
    ResizeActivations(m, k, block, first.bias, shared);
    if (pool != nullptr && m >= kParallelQuantizeRows) {
      // A prompt's activations (512 x 8192 for ffn_down) take milliseconds to quantize:
      // split the rows over the pool instead of leaving the other threads waiting.
      pool->ParallelFor(m, [x, shared, quantize_rows](int64_t i0, int64_t i1) {
        quantize_rows(x, i0, i1, shared);
      });
    } else {
      quantize_rows(x, 0, m, shared);
    }
    args.q8 = &q8;
  }

  // Tiles of kRowTile weight rows x kActTile activation rows: a tile's weight rows come from
  // memory once and stay in L1/L2 while each group of activation rows (L1-sized) passes over
  // them.
  constexpr int64_t kRowTile = 16;
  constexpr int64_t kActTile = 4;
  // Units [begin, end) of plan p. Rows handed to one chunk at a time are contiguous, so each
  // thread streams its own slice of W once; tiled kernels take whole panels (tiled_kernels.h).
  auto run_units = [&](const Plan& p, int64_t begin, int64_t end) {
    if (p.tiled.kernel != nullptr) {
      const TileArgs tile{p.w, p.row_bytes, p.n_rows, k, m, x, args.q8, p.y};
      p.tiled.kernel(tile, begin * kPanelRows, std::min(p.n_rows, end * kPanelRows));
      return;
    }
    for (int64_t r0 = begin; r0 < end; r0 += kRowTile) {
      const int64_t r1 = std::min(end, r0 + kRowTile);
      for (int64_t i0 = 0; i0 < m; i0 += kActTile) {
        RowArgs tile = args;
        tile.i0 = i0;
        tile.m = std::min(kActTile, m - i0);
        for (int64_t r = r0; r < r1; ++r) {
          const uint8_t* w_row = p.w + r * p.row_bytes;
          if (p.choice.kernel != nullptr) {
            p.choice.kernel(w_row, tile, p.y + r, p.n_rows);
          } else {
            DequantizeThenDot(p.t, dot, w_row, tile, p.y + r, p.n_rows);
          }
        }
      }
    }
  };
  // Global units [begin, end) over the plans in order.
  auto run = [&](int64_t begin, int64_t end) {
    int64_t offset = 0;
    for (const Plan& p : plans) {
      const int64_t lo = std::max(begin, offset), hi = std::min(end, offset + p.units());
      if (lo < hi) run_units(p, lo - offset, hi - offset);
      offset += p.units();
    }
  };
  // Below ~64K multiply-adds (a few microseconds) waking the pool costs more than it saves;
  // tiny models (stories260K: 64 x 64) run every matmul inline.
  constexpr int64_t kMinParallelMacs = int64_t{1} << 16;
  if (pool == nullptr || total_units < 2 || macs < kMinParallelMacs) {
    run(0, total_units);
  } else {
    pool->ParallelFor(total_units, run);
  }
}

}  // namespace

void MatMul(TensorType t, const void* w, int64_t n_rows, int64_t k, const float* x, int64_t m,
            float* y, ThreadPool* pool) {
  const Plan plan = MakePlan(t, w, nullptr, n_rows, k, m, y);
  RunPlans({&plan, 1}, k, x, m, pool);
}

bool MatMulReadsPacked(TensorType t) { return ChoosePackedKernel(t).kernel != nullptr; }

const char* PackedKernelName(TensorType t) { return ChoosePackedKernel(t).name; }

void MatMul(const PackedWeights& p, const float* x, int64_t m, float* y, ThreadPool* pool) {
  const SharedProduct product{p.type(), p.source(), &p, p.n_rows(), y};
  MatMulShared({&product, 1}, p.k(), x, m, pool);
}

void MatMulShared(std::span<const SharedProduct> products, int64_t k, const float* x, int64_t m,
                  ThreadPool* pool) {
  std::vector<Plan> plans;
  plans.reserve(products.size());
  for (const SharedProduct& s : products) {
    plans.push_back(MakePlan(s.t, s.w, s.packed, s.n_rows, k, m, s.y));
  }
  // Consecutive plans that can share run together.
  for (size_t i = 0; i < plans.size();) {
    size_t j = i + 1;
    while (j < plans.size() && plans[i].SharesWith(plans[j])) ++j;
    RunPlans(std::span<const Plan>(plans).subspan(i, j - i), k, x, m, pool);
    i = j;
  }
}

void MatMulReference(TensorType t, const void* w, int64_t n_rows, int64_t k, const float* x,
                     int64_t m, float* y) {
  CHECK(k > 0 && k % BlockElements(t) == 0) << "MatMul k=" << k << " for " << TensorTypeName(t);
  std::vector<float> row(k);
  const size_t row_bytes = RowBytes(t, k);
  for (int64_t r = 0; r < n_rows; ++r) {
    DequantizeRow(t, static_cast<const uint8_t*>(w) + r * row_bytes, row.data(), k);
    for (int64_t i = 0; i < m; ++i) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += static_cast<double>(row[j]) * x[i * k + j];
      y[i * n_rows + r] = static_cast<float>(s);
    }
  }
}

}  // namespace baton::engine::kernels
