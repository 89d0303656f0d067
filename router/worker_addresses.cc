#include "router/worker_addresses.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace baton::router {
namespace {

constexpr absl::string_view kDnsScheme = "dns:///";

// Splits "host:port" (host may be "[v6]") at its last ':'.
absl::Status SplitHostPort(absl::string_view entry, std::string* host, int* port) {
  const size_t colon = entry.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("worker address '", entry, "' needs host:port"));
  }
  if (!absl::SimpleAtoi(entry.substr(colon + 1), port) || *port < 1 || *port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("worker address '", entry, "' has no port in 1..65535"));
  }
  *host = std::string(entry.substr(0, colon));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<WorkerAddressEntry>> ParseWorkerAddresses(absl::string_view list) {
  std::vector<WorkerAddressEntry> entries;
  for (absl::string_view raw : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    absl::string_view text = absl::StripAsciiWhitespace(raw);
    WorkerAddressEntry entry;
    if (absl::ConsumePrefix(&text, kDnsScheme)) {
      entry.dns = true;
      if (absl::Status split = SplitHostPort(text, &entry.name, &entry.port); !split.ok()) {
        return split;
      }
      entry.host_port = std::string(text);
    } else if (absl::StrContains(text, "://")) {
      return absl::InvalidArgumentError(
          absl::StrCat("worker address '", text, "': only dns:/// names or host:port"));
    } else {
      std::string host;
      int port = 0;
      if (absl::Status split = SplitHostPort(text, &host, &port); !split.ok()) return split;
      entry.host_port = std::string(text);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

Resolver DnsResolver() {
  return [](const std::string& name, int port) -> absl::StatusOr<std::vector<std::string>> {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int error = getaddrinfo(name.c_str(), nullptr, &hints, &found);
    if (error != 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot resolve '", name, "': ", gai_strerror(error)));
    }
    std::vector<std::string> addresses;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      char text[INET6_ADDRSTRLEN] = {};
      if (a->ai_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, text,
                  sizeof(text));
        addresses.push_back(absl::StrCat(text, ":", port));
      } else if (a->ai_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, text,
                  sizeof(text));
        addresses.push_back(absl::StrCat("[", text, "]:", port));
      }
    }
    freeaddrinfo(found);
    std::sort(addresses.begin(), addresses.end());
    addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
    return addresses;
  };
}

}  // namespace baton::router
