// The Q4_0 repacked layout (tiled_kernels.h): its size, the packing of panels and a row read
// back. Portable code.
#include <algorithm>
#include <cstring>

#include "engine/kernels/cpu/block_formats.h"
#include "engine/kernels/cpu/tiled_kernels.h"

namespace baton::engine::kernels {

size_t PackedQ4_0Bytes(int64_t n_rows, int64_t k) {
  const int64_t panels = (n_rows + kPanelRows - 1) / kPanelRows;
  return static_cast<size_t>(panels * (k / kQk) * kPackedQ4_0BlockBytes);
}

void PackQ4_0Panels(const uint8_t* w, int64_t n_rows, int64_t k, int64_t panel_begin,
                    int64_t panel_end, uint8_t* packed) {
  const int64_t nb = k / kQk;
  const size_t row_bytes = nb * sizeof(BlockQ4_0);
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    const BlockQ4_0* row[kPanelRows];
    for (int r = 0; r < kPanelRows; ++r) {
      const int64_t src = std::min(p * kPanelRows + r, n_rows - 1);
      row[r] = reinterpret_cast<const BlockQ4_0*>(w + src * row_bytes);
    }
    uint8_t* out = packed + p * nb * kPackedQ4_0BlockBytes;
    for (int64_t b = 0; b < nb; ++b, out += kPackedQ4_0BlockBytes) {
      for (int r = 0; r < kPanelRows; ++r) {
        std::memcpy(out + 2 * r, &row[r][b].d, 2);
        for (int v = 0; v < 4; ++v) std::memcpy(out + 16 + 32 * v + 4 * r, row[r][b].qs + 4 * v, 4);
      }
    }
  }
}

void UnpackQ4_0Row(const uint8_t* packed, int64_t k, int64_t row, uint8_t* blocks) {
  const int64_t nb = k / kQk;
  const int r = static_cast<int>(row % kPanelRows);
  const uint8_t* in = packed + row / kPanelRows * nb * kPackedQ4_0BlockBytes;
  auto* out = reinterpret_cast<BlockQ4_0*>(blocks);
  for (int64_t b = 0; b < nb; ++b, in += kPackedQ4_0BlockBytes) {
    std::memcpy(&out[b].d, in + 2 * r, 2);
    for (int v = 0; v < 4; ++v) std::memcpy(out[b].qs + 4 * v, in + 16 + 32 * v + 4 * r, 4);
  }
}

}  // namespace baton::engine::kernels
