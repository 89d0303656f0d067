// The API keys a router accepts (--api_keys_file): one key per line; blank lines and lines
// starting with '#' are ignored. HTTP clients send "Authorization: Bearer <key>", gRPC clients
// the same text in the "authorization" metadata.
//
// Immutable after loading; thread-safe.
#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace baton::router {

class ApiKeys {
 public:
  // No keys: every request is let in.
  ApiKeys() = default;
  // kNotFound when the file cannot be read, kInvalidArgument when it holds no key.
  static absl::StatusOr<ApiKeys> FromFile(const std::string& path);
  static ApiKeys FromList(std::vector<std::string> keys);

  bool enabled() const { return !keys_.empty(); }

  // OK when no keys are configured or `authorization` is "Bearer <key>" (scheme case-insensitive)
  // for a configured key; kUnauthenticated naming what was missing or wrong otherwise. The
  // comparison does not stop at the first differing byte.
  absl::Status Check(absl::string_view authorization) const;

 private:
  std::vector<std::string> keys_;
};

}  // namespace baton::router
