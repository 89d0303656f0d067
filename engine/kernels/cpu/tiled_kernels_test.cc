// The tiled kernels against the row kernels they replace for m > 1 (bit for bit where the row
// kernel reproduces ggml) and against the double reference, on shapes that are not multiples
// of the panel (8 weight rows) or of the activation tile.
#include "engine/kernels/cpu/tiled_kernels.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "common/status_matchers.h"
#include "engine/kernels/cpu/activations.h"
#include "engine/kernels/cpu/avx2_float_gemm.h"
#include "engine/kernels/cpu/matmul.h"
#include "engine/kernels/cpu/quantize.h"
#include "engine/kernels/cpu/row_kernels.h"
#include "engine/threading/thread_pool.h"
#include "gtest/gtest.h"

namespace baton::engine::kernels {
namespace {

struct Shape {
  int64_t n_rows, k, m;
};

// n_rows and m off every tile size, k from one block to past 64 blocks.
const Shape kShapes[] = {{13, 32 * 7, 5}, {8, 64, 4},   {17, 32 * 3, 9},
                         {1, 32, 6},      {33, 32 * 65, 7}, {24, 32 * 2, 16}, {9, 32, 23}};

// Float weights take rows of any length: k off the 8-element vectors too. Their kernel blocks
// k by kFloatGemmKBlock and tiles 16 weight rows x 6 activation rows: k one element past two
// blocks and 13 elements into the third, rows off 16, every m from 4 to 13 (all the partial
// tiles), and m past one block of activation rows.
constexpr int64_t kPastTwoKBlocks = 2 * kFloatGemmKBlock + 13;
const Shape kFloatShapes[] = {{5, 37, 9},   {11, 333, 8}, {3, 7, 4},   {16, 1, 5},
                              {37, kPastTwoKBlocks, 4},    {37, kPastTwoKBlocks, 5},
                              {37, kPastTwoKBlocks, 6},    {37, kPastTwoKBlocks, 7},
                              {37, kPastTwoKBlocks, 8},    {37, kPastTwoKBlocks, 9},
                              {37, kPastTwoKBlocks, 10},   {37, kPastTwoKBlocks, 11},
                              {37, kPastTwoKBlocks, 12},   {37, kPastTwoKBlocks, 13},
                              {24, kFloatGemmKBlock + 1, 13}, {21, 2 * kFloatGemmKBlock, 301}};

// Activation block of t's kernels: 256 for the K types, else 32.
int64_t ActBlock(TensorType t) { return BlockElements(t) == 256 ? 256 : 32; }

// kShapes with k in units of t's activation block (k / 32 blocks of 256 for the K types).
std::vector<Shape> ShapesFor(TensorType t) {
  std::vector<Shape> shapes(std::begin(kShapes), std::end(kShapes));
  for (Shape& s : shapes) s.k = s.k / 32 * ActBlock(t);
  if (BlockElements(t) == 1) shapes.insert(shapes.end(), std::begin(kFloatShapes), std::end(kFloatShapes));
  return shapes;
}

struct Operands {
  std::vector<uint8_t> w;
  std::vector<float> x;
  Q8Activations q8;
};

// Weights quantized to t; activations with an offset so the Q4_0 offset term matters. With
// `on_grid`, x is replaced by its own 8-bit quantization (which then round-trips exactly).
Operands Make(TensorType t, const Shape& s, bool on_grid) {
  std::mt19937 rng(7 + s.n_rows * 31 + s.k + s.m);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Operands o;
  std::vector<float> wf(s.n_rows * s.k);
  for (float& f : wf) f = dist(rng);
  o.x.resize(s.m * s.k);
  for (float& f : o.x) f = dist(rng) + 0.3f;
  const size_t row_bytes = RowBytes(t, s.k);
  o.w.resize(row_bytes * s.n_rows);
  for (int64_t r = 0; r < s.n_rows; ++r) {
    QuantizeRow(t, wf.data() + r * s.k, o.w.data() + r * row_bytes, s.k);
  }
  const int64_t block = ActBlock(t);
  if (s.k % block != 0) return o;  // float weights only: no quantized activations
  QuantizeActivations(o.x.data(), s.m, s.k, block, 0, &o.q8);
  if (on_grid) {
    for (int64_t j = 0; j < s.m * s.k; ++j) o.x[j] = o.q8.qs[j] * o.q8.d[j / block];
    QuantizeActivations(o.x.data(), s.m, s.k, block, 0, &o.q8);
  }
  return o;
}

// One row kernel call per weight row: the path the tiled kernels replace.
std::vector<float> RowKernelResult(TensorType t, const Operands& o, const Shape& s,
                                   RowKernel kernel) {
  std::vector<float> y(s.m * s.n_rows, NAN);
  RowArgs a;
  a.m = s.m;
  a.k = s.k;
  a.x = o.x.data();
  a.q8 = &o.q8;
  for (int64_t r = 0; r < s.n_rows; ++r) {
    kernel(o.w.data() + r * RowBytes(t, s.k), a, y.data() + r, s.n_rows);
  }
  return y;
}

// The builds of t's tiled kernel this CPU runs: AVX2's, and AVX-512 VL + VNNI's where it can.
std::vector<TiledKernelChoice> Builds(TensorType t) {
  std::vector<TiledKernelChoice> builds = {Avx2TiledKernel(t)};
  if (const TiledKernelChoice vnni = Avx512VnniTiledKernel(t); vnni.kernel != nullptr) {
    builds.push_back(vnni);
  }
  return builds;
}

// A build of the tiled kernel over rows [0, split) and [split, n_rows) (split a multiple of
// the panel).
std::vector<float> TiledResult(TensorType t, const Operands& o, const Shape& s, int64_t split,
                               const TiledKernelChoice& tiled) {
  std::vector<float> y(s.m * s.n_rows, NAN);
  // The activations as MatMul prepares them for this kernel: the same quants and scales, with
  // the kernel's bias in the corrections.
  Q8Activations q8 = o.q8;
  if (!o.q8.qs.empty() && tiled.bias != o.q8.bias) {
    QuantizeActivations(o.x.data(), s.m, s.k, ActBlock(t), tiled.bias, &q8);
  }
  const TileArgs a{o.w.data(), RowBytes(t, s.k), s.n_rows, s.k, s.m, o.x.data(), &q8, y.data()};
  tiled.kernel(a, 0, std::min(split, s.n_rows));
  if (split < s.n_rows) tiled.kernel(a, split, s.n_rows);
  return y;
}

// AVX2's build.
std::vector<float> TiledResult(TensorType t, const Operands& o, const Shape& s, int64_t split) {
  return TiledResult(t, o, s, split, Avx2TiledKernel(t));
}

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

class TiledKernelTest : public ::testing::TestWithParam<TensorType> {
 protected:
  void SetUp() override {
    if (!CpuHasAvx2Kernels()) GTEST_SKIP() << "this CPU lacks AVX2, FMA or F16C";
    ASSERT_NE(Avx2TiledKernel(GetParam()).kernel, nullptr);
  }
};

TEST_P(TiledKernelTest, Q8_0IsBitIdenticalToTheRowKernels) {
  if (GetParam() != TensorType::kQ8_0) GTEST_SKIP() << "only Q8_0 rounds as ggml does";
  const TensorType t = GetParam();
  for (const Shape& s : ShapesFor(t)) {
    const Operands o = Make(t, s, false);
    const std::vector<float> row = RowKernelResult(t, o, s, Avx2Kernel(t).kernel);
    // The portable kernel rounds as ggml does too.
    const std::vector<float> scalar = RowKernelResult(t, o, s, ScalarKernel(t).kernel);
    for (const TiledKernelChoice& build : Builds(t)) {
      for (int64_t split : {kPanelRows, 2 * kPanelRows}) {
        const std::vector<float> tiled = TiledResult(t, o, s, split, build);
        for (size_t i = 0; i < row.size(); ++i) {
          ASSERT_EQ(Bits(tiled[i]), Bits(row[i]))
              << build.name << " n_rows=" << s.n_rows << " k=" << s.k << " m=" << s.m << " at "
              << i << ": " << tiled[i] << " vs " << row[i];
          ASSERT_EQ(Bits(tiled[i]), Bits(scalar[i])) << i;
        }
      }
    }
  }
}

// On activations already on the 8-bit grid the only error left is float rounding: the tiled
// kernel's integer block sums and offset must match the double reference to 1e-5 of sum |w x|.
TEST_P(TiledKernelTest, MatchesTheReferenceOnTheQ8Grid) {
  const TensorType t = GetParam();
  for (const Shape& s : ShapesFor(t)) {
    const Operands o = Make(t, s, true);
    std::vector<float> want(s.m * s.n_rows);
    MatMulReference(t, o.w.data(), s.n_rows, s.k, o.x.data(), s.m, want.data());
    const std::vector<float> got = TiledResult(t, o, s, kPanelRows);
    const std::vector<float> row = RowKernelResult(t, o, s, Avx2Kernel(t).kernel);
    std::vector<float> wd(s.k);
    for (int64_t r = 0; r < s.n_rows; ++r) {
      DequantizeRow(t, o.w.data() + r * RowBytes(t, s.k), wd.data(), s.k);
      for (int64_t i = 0; i < s.m; ++i) {
        double abs_sum = 0;
        for (int64_t j = 0; j < s.k; ++j) abs_sum += std::fabs(wd[j] * o.x[i * s.k + j]);
        const size_t at = i * s.n_rows + r;
        ASSERT_NEAR(got[at], want[at], abs_sum * 1e-5 + 1e-6)
            << "n_rows=" << s.n_rows << " k=" << s.k << " m=" << s.m << " i=" << i << " r=" << r;
        ASSERT_NEAR(got[at], row[at], abs_sum * 1e-5 + 1e-6) << "row kernel, i=" << i;
      }
    }
  }
}

// The AVX-512 VL + VNNI build (more activation rows per pass, vpdpbusd) gives the AVX2
// build's results bit for bit, on every shape and split.
TEST_P(TiledKernelTest, BuildsAreBitIdentical) {
  const TensorType t = GetParam();
  const std::vector<TiledKernelChoice> builds = Builds(t);
  if (builds.size() == 1) GTEST_SKIP() << "this CPU lacks AVX-512 VL or VNNI: one build only";
  for (const Shape& s : ShapesFor(t)) {
    const Operands o = Make(t, s, false);
    for (int64_t split : {kPanelRows, 2 * kPanelRows}) {
      const std::vector<float> want = TiledResult(t, o, s, split, builds[0]);
      const std::vector<float> got = TiledResult(t, o, s, split, builds[1]);
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(Bits(got[i]), Bits(want[i]))
            << builds[1].name << " n_rows=" << s.n_rows << " k=" << s.k << " m=" << s.m
            << " at " << i << ": " << got[i] << " vs " << want[i];
      }
    }
  }
}

// MatMul takes the tiled path from the kernel's min_rows on, on a pool too. Q8_0, Q4_K and
// Q6_K (row kernels below 4 rows, rounding as the tile) and Q4_0 (its few-row path rounds as
// its panels) give bit-identical products whether a row comes alone, in a batch of 3 or of 11.
TEST_P(TiledKernelTest, MatMulBatchEqualsRowsOneAtATime) {
  const TensorType t = GetParam();
  ASSERT_OK_AND_ASSIGN(auto pool, ThreadPool::Create(2));
  const Shape s{301, ActBlock(t) * 9, 11};
  const Operands o = Make(t, s, false);
  std::vector<float> batch(s.m * s.n_rows);
  MatMul(t, o.w.data(), s.n_rows, s.k, o.x.data(), s.m, batch.data(), pool.get());
  std::vector<float> wd(s.n_rows * s.k);
  for (int64_t r = 0; r < s.n_rows; ++r) {
    DequantizeRow(t, o.w.data() + r * RowBytes(t, s.k), wd.data() + r * s.k, s.k);
  }
  const bool batch_invariant = BlockElements(t) != 1;  // all but the float weights
  if (batch_invariant) {
    std::vector<float> three(3 * s.n_rows);
    MatMul(t, o.w.data(), s.n_rows, s.k, o.x.data(), 3, three.data(), pool.get());
    for (int64_t j = 0; j < 3 * s.n_rows; ++j) ASSERT_EQ(Bits(three[j]), Bits(batch[j])) << j;
  }
  for (int64_t i = 0; i < s.m; ++i) {
    std::vector<float> one(s.n_rows);
    MatMul(t, o.w.data(), s.n_rows, s.k, o.x.data() + i * s.k, 1, one.data(), pool.get());
    for (int64_t r = 0; r < s.n_rows; ++r) {
      if (batch_invariant) {
        ASSERT_EQ(Bits(batch[i * s.n_rows + r]), Bits(one[r])) << "i=" << i << " r=" << r;
        continue;
      }
      // Same quantized activations on both paths: only float rounding differs.
      double abs_sum = 0;
      for (int64_t j = 0; j < s.k; ++j) abs_sum += std::fabs(wd[r * s.k + j] * o.x[i * s.k + j]);
      ASSERT_NEAR(batch[i * s.n_rows + r], one[r], abs_sum * 1e-5 + 1e-6) << "i=" << i << " r=" << r;
    }
  }
}

// F16/BF16: an activation row's products do not depend on the rows batched with it (its
// position in a tile of 6, the tile's size, the activation block it falls in) nor on where the
// weight rows' range starts: every row of a batch of 301 equals, bit for bit, the same row in
// a batch of 4 to 13 taken from any offset, over a range split at another panel.
TEST_P(TiledKernelTest, FloatRowsDoNotDependOnTheBatch) {
  const TensorType t = GetParam();
  if (BlockElements(t) != 1) GTEST_SKIP() << "only the float weights";
  const Shape s{45, 2 * kFloatGemmKBlock + 5, 301};
  const Operands o = Make(t, s, false);
  const std::vector<float> all = TiledResult(t, o, s, 2 * kPanelRows);
  for (int64_t m = 4; m <= 13; ++m) {
    for (int64_t i0 : {int64_t{0}, int64_t{1}, 5 + m, s.m - m}) {
      const Shape part{s.n_rows, s.k, m};
      Operands sub;
      sub.x.assign(o.x.begin() + i0 * s.k, o.x.begin() + (i0 + m) * s.k);
      sub.w = o.w;
      const std::vector<float> got = TiledResult(t, sub, part, kPanelRows);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t r = 0; r < s.n_rows; ++r) {
          ASSERT_EQ(Bits(got[i * s.n_rows + r]), Bits(all[(i0 + i) * s.n_rows + r]))
              << "m=" << m << " i0=" << i0 << " i=" << i << " r=" << r;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, TiledKernelTest,
                         ::testing::Values(TensorType::kQ4_0, TensorType::kQ8_0,
                                           TensorType::kQ4_K, TensorType::kQ6_K,
                                           TensorType::kF16, TensorType::kBF16),
                         [](const auto& info) { return std::string(TensorTypeName(info.param)); });

}  // namespace
}  // namespace baton::engine::kernels
