// Files in the test's TEST_TMPDIR, for loadgen's tests. Test-only; thread-safe.
#pragma once

#include <cstdlib>
#include <string>

#include "loadgen/text_file.h"

namespace baton::loadgen::testing {

// TEST_TMPDIR/name.
inline std::string TempPath(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

// Writes `text` to TEST_TMPDIR/name and returns the path.
inline std::string WriteTempFile(const std::string& name, const std::string& text) {
  const std::string path = TempPath(name);
  (void)WriteTextFile(path, text);
  return path;
}

// The file's bytes, or "" when it cannot be read (the test's checks then fail on the content).
inline std::string ReadTempFile(const std::string& path) { return ReadTextFile(path).value_or(""); }

}  // namespace baton::loadgen::testing
