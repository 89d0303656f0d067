// Locates the read-only ../shared folder (models, golden outputs, tokenizer vectors) for tests.
// scripts/test.sh passes its absolute path as BATON_SHARED_DIR. Tests that need it must skip
// with a message when it is absent:
//   auto path = baton::testing::SharedFile("models/stories260K.gguf");
//   if (!path) GTEST_SKIP() << "../shared not present";
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <sys/stat.h>

namespace baton::testing {

// Absolute path of `relative` inside the shared folder, or nullopt if the folder or file is absent.
inline std::optional<std::string> SharedFile(const std::string& relative) {
  const char* dir = std::getenv("BATON_SHARED_DIR");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  std::string path = std::string(dir) + "/" + relative;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return path;
}

}  // namespace baton::testing
