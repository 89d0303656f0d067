#include "engine/kernels/cpu/packed_weights.h"

#include <algorithm>
#include <cstdlib>
#include <sys/mman.h>
#include <vector>

#include "common/logging.h"
#include "engine/kernels/cpu/quantize.h"
#include "engine/kernels/cpu/tiled_kernels.h"

namespace baton::engine::kernels {
namespace {

// Panels copied between two calls of the release callback (~0.6 MB of a 2048-column Q4_0 matrix).
constexpr int64_t kPanelsPerRelease = 64;

// Asks the kernel to back the whole 2 MiB pages inside [p, p + bytes) with transparent huge
// pages (where the machine leaves them to madvise, as Debian's default does): a decode step
// streams every weight once, and with 4 KiB pages it waits on TLB misses. matmul_bench, 2
// threads, batch 1 at the output shape (128256 x 2048) from memory: Q4_0 29.6-30.4 GB/s against
// 23-27 with 4 KiB pages, F16 29-30 against 25-28. Only whole pages inside the buffer: no memory
// beyond it becomes resident. A refusal (no THP in this kernel) leaves ordinary pages.
void AdviseHugePages(void* p, size_t bytes) {
  constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t begin = (start + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (start + bytes) & ~(kHugePage - 1);
  if (begin < end) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

// A packed layout (tiled_kernels.h): its size, the packing of panels, a row read back.
struct Layout {
  size_t (*bytes)(int64_t n_rows, int64_t k);
  void (*pack)(const uint8_t* w, int64_t n_rows, int64_t k, int64_t panel_begin,
               int64_t panel_end, uint8_t* packed);
  void (*unpack_row)(const uint8_t* packed, int64_t k, int64_t row, uint8_t* out);
};

// Q4_0's layout, or the 16-bit floats' (F16, BF16).
Layout LayoutOf(TensorType t) {
  if (t == TensorType::kF16 || t == TensorType::kBF16) {
    return {PackedHalfBytes, PackHalfPanels, UnpackHalfRow};
  }
  return {PackedQ4_0Bytes, PackQ4_0Panels, UnpackQ4_0Row};
}

}  // namespace

PackedWeights::PackedWeights(TensorType t, const void* source, int64_t n_rows, int64_t k,
                             size_t bytes)
    : type_(t), source_(source), n_rows_(n_rows), k_(k), bytes_(bytes) {
  data_ = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
  CHECK(data_ != nullptr) << "out of memory repacking " << bytes << " bytes of weights";
  AdviseHugePages(data_, bytes);
}

PackedWeights::~PackedWeights() { std::free(data_); }

std::unique_ptr<const PackedWeights> PackedWeights::Create(TensorType t, const void* source,
                                                           int64_t n_rows, int64_t k,
                                                           const ReleaseSourceFn& release) {
  CHECK(k > 0 && k % BlockElements(t) == 0) << "PackedWeights k=" << k << " for "
                                            << TensorTypeName(t);
  if (!MatMulReadsPacked(t) || n_rows <= 0) return nullptr;
  const int64_t panels = (n_rows + kPanelRows - 1) / kPanelRows;
  const Layout layout = LayoutOf(t);
  std::unique_ptr<PackedWeights> p(
      new PackedWeights(t, source, n_rows, k, layout.bytes(n_rows, k)));
  const auto* w = static_cast<const uint8_t*>(source);
  const size_t row_bytes = RowBytes(t, k);
  for (int64_t p0 = 0; p0 < panels; p0 += kPanelsPerRelease) {
    const int64_t p1 = std::min(panels, p0 + kPanelsPerRelease);
    layout.pack(w, n_rows, k, p0, p1, p->data_);
    if (release) {
      const int64_t r0 = p0 * kPanelRows, r1 = std::min(n_rows, p1 * kPanelRows);
      release(w + r0 * row_bytes, (r1 - r0) * row_bytes);
    }
  }
  return p;
}

void DequantizePackedRow(const PackedWeights& p, int64_t row, float* out) {
  CHECK(row >= 0 && row < p.n_rows()) << "row " << row << " of " << p.n_rows();
  std::vector<uint8_t> blocks(RowBytes(p.type(), p.k()));
  LayoutOf(p.type()).unpack_row(p.data(), p.k(), row, blocks.data());
  DequantizeRow(p.type(), blocks.data(), out, p.k());
}

}  // namespace baton::engine::kernels
