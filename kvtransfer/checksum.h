// A fast 64-bit checksum of KV slabs, computed by the sender and verified by the receiver when
// a transfer asks for integrity checks. Detects corruption, not tampering. Pure function.
#pragma once

#include <cstddef>
#include <cstdint>

namespace baton::kvtransfer {

// Checksum of [data, data + size). Same bytes give the same value on every host (little-endian
// only, like the pool itself).
uint64_t KvChecksum(const void* data, size_t size);

}  // namespace baton::kvtransfer
