#include "engine/tools/process_memory.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace baton::engine::tools {
namespace {

// The value of "<key>:  N kB" in bytes, or -1 when the line is absent or malformed.
int64_t KilobyteField(absl::string_view status, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, key) || !absl::ConsumePrefix(&line, ":")) continue;
    line = absl::StripAsciiWhitespace(line);
    if (!absl::ConsumeSuffix(&line, "kB")) return -1;
    int64_t kb = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kb) || kb < 0) return -1;
    return kb * 1024;
  }
  return -1;
}

}  // namespace

absl::StatusOr<ProcessMemory> ParseProcessStatus(absl::string_view status) {
  ProcessMemory m;
  m.peak_resident_bytes = KilobyteField(status, "VmHWM");
  m.resident_bytes = KilobyteField(status, "VmRSS");
  if (m.peak_resident_bytes < 0 || m.resident_bytes < 0) {
    return absl::InvalidArgumentError("process status without VmHWM/VmRSS in kB");
  }
  return m;
}

absl::StatusOr<ProcessMemory> ReadProcessMemory() {
  std::ifstream in("/proc/self/status");
  if (!in) return absl::UnavailableError("cannot read /proc/self/status");
  std::stringstream text;
  text << in.rdbuf();
  return ParseProcessStatus(text.str());
}

}  // namespace baton::engine::tools
