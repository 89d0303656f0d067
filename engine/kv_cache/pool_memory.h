// The memory under a KvPool: a page-aligned region and how to give it back. By default an anonymous
// mmap (AnonymousPoolMemory); a KV transport may provide memory it moves bytes through best
// (kvtransfer's KvTransport::AllocatePoolMemory: UCX maps it itself, so on one host a remote write
// into it is one memcpy).
//
// Move-only; the destructor runs `release` once (never for a moved-from object).
#pragma once

#include <cstddef>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"

namespace baton::engine {

class PoolMemory {
 public:
  PoolMemory() = default;
  // `base` must be page aligned and `bytes` long; `release` frees it. `zeroed`: the memory is known
  // to read as zeros (a fresh mapping), so a pool need not clear it (and commit every page up
  // front).
  PoolMemory(void* base, size_t bytes, absl::AnyInvocable<void() &&> release, bool zeroed = false)
      : base_(base), bytes_(bytes), zeroed_(zeroed), release_(std::move(release)) {}
  PoolMemory(PoolMemory&& other) noexcept { *this = std::move(other); }
  PoolMemory& operator=(PoolMemory&& other) noexcept {
    if (this != &other) {
      Release();
      base_ = std::exchange(other.base_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
      zeroed_ = std::exchange(other.zeroed_, false);
      release_ = std::move(other.release_);
      other.release_ = nullptr;
    }
    return *this;
  }
  ~PoolMemory() { Release(); }

  void* base() const { return base_; }
  size_t bytes() const { return bytes_; }
  bool zeroed() const { return zeroed_; }

 private:
  void Release() {
    if (release_) std::move(release_)();
    release_ = nullptr;
  }

  void* base_ = nullptr;
  size_t bytes_ = 0;
  bool zeroed_ = false;
  absl::AnyInvocable<void() &&> release_;
};

// Zero-filled anonymous mmap of `bytes`, committed lazily. kResourceExhausted when mmap fails.
absl::StatusOr<PoolMemory> AnonymousPoolMemory(size_t bytes);

}  // namespace baton::engine
