#include "kvtransfer/ucx/ucx_peer_address.h"

#include <unistd.h>

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace baton::kvtransfer {
namespace {

std::string ReadHostIdentity() {
  std::ifstream boot_id("/proc/sys/kernel/random/boot_id");
  std::string id;
  if (boot_id && std::getline(boot_id, id)) {
    absl::StripAsciiWhitespace(&id);
    if (!id.empty()) return absl::StrCat("boot:", id);
  }
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') {
    return absl::StrCat("host:", name);
  }
  return "unknown";
}

}  // namespace

const std::string& HostIdentity() {
  static const std::string* const identity = new std::string(ReadHostIdentity().substr(0, 255));
  return *identity;
}

std::string PackPeerAddress(absl::string_view host, absl::string_view ucp_address) {
  host = host.substr(0, 255);
  std::string packed;
  packed.push_back(static_cast<char>(host.size()));
  absl::StrAppend(&packed, host, ucp_address);
  return packed;
}

std::optional<PeerAddress> ParsePeerAddress(absl::string_view packed) {
  if (packed.empty()) return std::nullopt;
  const size_t host_length = static_cast<unsigned char>(packed[0]);
  if (packed.size() <= 1 + host_length) return std::nullopt;
  return PeerAddress{std::string(packed.substr(1, host_length)),
                     std::string(packed.substr(1 + host_length))};
}

}  // namespace baton::kvtransfer
