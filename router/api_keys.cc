#include "router/api_keys.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace baton::router {
namespace {

// Equal contents, in time that depends only on the lengths.
bool SameKey(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

absl::StatusOr<ApiKeys> ApiKeys::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read the API keys file " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> keys;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    keys.emplace_back(line);
  }
  if (keys.empty()) return absl::InvalidArgumentError("the API keys file " + path + " holds no key");
  return FromList(std::move(keys));
}

ApiKeys ApiKeys::FromList(std::vector<std::string> keys) {
  ApiKeys result;
  result.keys_ = std::move(keys);
  return result;
}

absl::Status ApiKeys::Check(absl::string_view authorization) const {
  if (!enabled()) return absl::OkStatus();
  authorization = absl::StripAsciiWhitespace(authorization);
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "missing API key: send it as 'Authorization: Bearer <key>'");
  }
  if (authorization.size() < 7 || !absl::EqualsIgnoreCase(authorization.substr(0, 7), "bearer ")) {
    return absl::UnauthenticatedError("the Authorization header must be 'Bearer <key>'");
  }
  const absl::string_view key = absl::StripAsciiWhitespace(authorization.substr(7));
  bool found = false;
  for (const std::string& k : keys_) found |= SameKey(k, key);
  if (!found) return absl::UnauthenticatedError("invalid API key");
  return absl::OkStatus();
}

}  // namespace baton::router
