// Whole-file reads and writes for loadgen's inputs (datasets, result files) and outputs (results,
// tables). Stateless functions, thread-safe for distinct paths.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace baton::loadgen {

// The file's bytes; kNotFound (naming the path) when it cannot be read.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// Replaces the file with `text`; kInternal (naming the path) when it cannot be written.
absl::Status WriteTextFile(const std::string& path, const std::string& text);

}  // namespace baton::loadgen
