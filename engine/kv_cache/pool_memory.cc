#include "engine/kv_cache/pool_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace baton::engine {

absl::StatusOr<PoolMemory> AnonymousPoolMemory(size_t bytes) {
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map a KV pool of ", bytes, " bytes: ", std::strerror(errno)));
  }
  return PoolMemory(
      base, bytes, [base, bytes] { ::munmap(base, bytes); }, /*zeroed=*/true);
}

}  // namespace baton::engine
