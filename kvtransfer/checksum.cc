#include "kvtransfer/checksum.h"

#include <cstring>

namespace baton::kvtransfer {
namespace {

constexpr uint64_t kMulA = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kMulB = 0xC2B2AE3D27D4EB4Full;

inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t Mix(uint64_t acc, uint64_t word) {
  acc ^= word * kMulB;
  acc = Rotl(acc, 29);
  return acc * kMulA;
}

inline uint64_t Load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace

uint64_t KvChecksum(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  // Four independent lanes keep the multipliers busy; position-dependence comes from the lane
  // and from the order of mixing within a lane.
  uint64_t lane[4] = {kMulA, kMulB, kMulA ^ kMulB, ~kMulA};
  size_t i = 0;
  for (; i + 32 <= size; i += 32) {
    lane[0] = Mix(lane[0], Load64(p + i));
    lane[1] = Mix(lane[1], Load64(p + i + 8));
    lane[2] = Mix(lane[2], Load64(p + i + 16));
    lane[3] = Mix(lane[3], Load64(p + i + 24));
  }
  uint64_t acc = Rotl(lane[0], 1) + Rotl(lane[1], 7) + Rotl(lane[2], 12) + Rotl(lane[3], 18);
  for (; i + 8 <= size; i += 8) acc = Mix(acc, Load64(p + i));
  uint64_t tail = 0;
  for (size_t k = 0; i < size; ++i, ++k) tail |= static_cast<uint64_t>(p[i]) << (8 * k);
  acc = Mix(acc, tail);
  acc ^= size;
  acc ^= acc >> 33;
  acc *= kMulB;
  acc ^= acc >> 29;
  return acc;
}

}  // namespace baton::kvtransfer
