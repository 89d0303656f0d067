// The active messages the UCX transport exchanges, as fixed-size little-endian headers.
// Data travels as the AM payload (eager, or rendezvous straight into the receiver's pool).
// Plain types and pure functions; no threading concerns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace baton::kvtransfer::ucx_wire {

// Active-message ids, registered on every worker.
inline constexpr unsigned kDataAm = 11;    // One run of one layer; payload = the run's bytes.
inline constexpr unsigned kFinishAm = 12;  // The sender's completion; no payload.
inline constexpr unsigned kAbortAm = 13;   // The sender cancelled; no payload.

inline constexpr uint32_t kMagic = 0x4b565831;  // "KVX1"
inline constexpr uint32_t kHasChecksum = 1;

struct DataHeader {
  uint32_t magic = kMagic;
  uint32_t flags = 0;
  uint64_t pool_base = 0;  // KvTarget::base_address: which pool of the receiving worker.
  uint64_t transfer_id = 0;
  int32_t layer = 0;
  int32_t first_index = 0;  // Into the transfer's block list.
  int32_t count = 0;
  int32_t reserved = 0;
  uint64_t checksum = 0;
};

struct ControlHeader {
  uint32_t magic = kMagic;
  int32_t first_token = 0;
  uint64_t pool_base = 0;
  uint64_t transfer_id = 0;
};

// Parses a header received from a peer: nullopt when the length or magic is wrong.
template <typename Header>
std::optional<Header> Parse(const void* data, size_t length) {
  if (data == nullptr || length != sizeof(Header)) return std::nullopt;
  Header header;
  std::memcpy(&header, data, sizeof(Header));
  if (header.magic != kMagic) return std::nullopt;
  return header;
}

}  // namespace baton::kvtransfer::ucx_wire
