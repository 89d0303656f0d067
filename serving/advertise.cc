#include "serving/advertise.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include "absl/strings/str_cat.h"

namespace baton::serving {
namespace {

bool IsWildcard(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

// Calls visit(interface name, dotted IPv4, flags) for every IPv4 interface address.
template <class Visit>
void ForEachIpv4(Visit visit) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) == nullptr) continue;
    if (visit(std::string(a->ifa_name), std::string(text), a->ifa_flags)) break;
  }
  freeifaddrs(list);
}

}  // namespace

absl::StatusOr<std::string> AdvertiseHost(const std::string& flag, const std::string& pod_ip,
                                          const std::string& listen_host) {
  if (!flag.empty()) return flag;
  if (!pod_ip.empty()) return pod_ip;
  if (!IsWildcard(listen_host)) return listen_host;
  std::string found;
  ForEachIpv4([&](const std::string&, const std::string& ip, unsigned flags) {
    if ((flags & IFF_UP) == 0 || (flags & IFF_LOOPBACK) != 0) return false;
    found = ip;
    return true;
  });
  if (found.empty()) {
    return absl::NotFoundError(
        "listening on every interface but none but loopback has an IPv4 address: pass "
        "--advertise_address");
  }
  return found;
}

absl::StatusOr<std::string> InterfaceOf(const std::string& ip) {
  std::string name;
  ForEachIpv4([&](const std::string& interface, const std::string& address, unsigned) {
    if (address != ip) return false;
    name = interface;
    return true;
  });
  if (name.empty()) return absl::NotFoundError(absl::StrCat("no interface holds ", ip));
  return name;
}

std::vector<std::pair<std::string, std::string>> UcxSettingsFor(
    std::vector<std::pair<std::string, std::string>> settings, const std::string& env_net_devices,
    const std::string& host) {
  if (!env_net_devices.empty()) return settings;
  for (const auto& [name, value] : settings) {
    if (name == "NET_DEVICES") return settings;
  }
  absl::StatusOr<std::string> interface = InterfaceOf(host);
  if (interface.ok()) settings.emplace_back("NET_DEVICES", *interface);
  return settings;
}

}  // namespace baton::serving
