// The active messages the UCX transport exchanges, as fixed-size little-endian headers. Data
// travels as the AM payload (eager, or rendezvous straight into the receiver's pool), or, in put
// mode, by RMA put into the receiver's registered pool, announced by payload-less data messages
// flagged kPutLanded once the puts are remotely complete.
//
// Put-mode handshake (the receiver cannot refuse a put, so it must know its writers):
//   sender   -> kPutBeginAm (payload: the sender's worker address)
//   receiver -> kPutReplyAm (code kGranted, or kRefused for an unknown/finished transfer)
// The sender puts only after kGranted; it ends with kFinishAm (carrying its writer id) or, once
// its stream failed and its puts were flushed, kStoppedAm. The receiver asks a writer to stop
// with kStopAm when the transfer is decided (abort, deadline, checksum, completed by another
// writer).
//
// Plain types and pure functions; no threading concerns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace baton::kvtransfer::ucx_wire {

// Active-message ids, registered on every worker.
inline constexpr unsigned kDataAm = 11;      // One run of one layer; payload = the run's bytes.
inline constexpr unsigned kFinishAm = 12;    // ControlHeader + Completion::payload (eager).
inline constexpr unsigned kAbortAm = 13;     // The sender cancelled; no payload.
inline constexpr unsigned kPutBeginAm = 14;  // PutHeader + the sender's worker address.
inline constexpr unsigned kPutReplyAm = 15;  // PutHeader; code = kGranted or kRefused.
inline constexpr unsigned kStopAm = 16;      // PutHeader: receiver asks the writer to stop.
inline constexpr unsigned kStoppedAm = 17;   // PutHeader: the writer stopped, puts flushed.

inline constexpr uint32_t kMagic = 0x4b565832;  // "KVX2"
inline constexpr uint32_t kHasChecksum = 1;
// A data message without payload: the run was put into the pool and is remotely complete.
inline constexpr uint32_t kPutLanded = 2;

inline constexpr uint32_t kGranted = 0;
inline constexpr uint32_t kRefused = 1;
// kPutBeginAm's code: 0 for UCX puts, kMappedCopy when the writer copies through its own mapping
// of the pool (a writer on the receiver's host whose endpoint lanes are tcp).
inline constexpr uint32_t kMappedCopy = 2;

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
  uint64_t writer_id = 0;  // Nonzero for a put-mode writer.
};

struct PutHeader {
  uint32_t magic = kMagic;
  uint32_t code = 0;
  uint64_t pool_base = 0;
  uint64_t transfer_id = 0;
  uint64_t writer_id = 0;
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
