// Resident memory of the current process as the kernel reports it in /proc/self/status, for the
// bench's "resident vs file bytes" line. Pure parsing plus one file read: thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace baton::engine::tools {

struct ProcessMemory {
  int64_t peak_resident_bytes = 0;  // VmHWM
  int64_t resident_bytes = 0;       // VmRSS
};

// Parses the VmHWM and VmRSS lines ("VmRSS:\t  1234 kB") of a /proc/<pid>/status text.
// kInvalidArgument when either is missing or malformed.
absl::StatusOr<ProcessMemory> ParseProcessStatus(absl::string_view status);

// ParseProcessStatus of /proc/self/status; kUnavailable when it cannot be read (not Linux).
absl::StatusOr<ProcessMemory> ReadProcessMemory();

}  // namespace baton::engine::tools
