// The router's --prefill / --decode lists: comma-separated entries, each "host:port" (one worker)
// or "dns:///name:port" (every address `name` resolves to is a worker; re-resolved periodically
// by the WorkerPool, as Kubernetes headless Services are meant to be read).
//
// Threading: the functions are thread-safe; DnsResolver calls getaddrinfo (blocking).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace baton::router {

struct WorkerAddressEntry {
  // "host:port" for a static entry; the name for a DNS entry.
  std::string host_port;
  bool dns = false;
  // A DNS entry's name and port.
  std::string name;
  int port = 0;
};

// Parses a comma list (empty entries are skipped). kInvalidArgument naming the bad entry for one
// without a port, with a port outside 1..65535, or with another scheme than dns:///.
absl::StatusOr<std::vector<WorkerAddressEntry>> ParseWorkerAddresses(absl::string_view list);

// Resolves `name` to "ip:port" addresses (IPv6 bracketed). kUnavailable when the name does not
// resolve now (the pool keeps the previous answer and asks again later).
using Resolver = std::function<absl::StatusOr<std::vector<std::string>>(const std::string& name,
                                                                        int port)>;

// A Resolver through the system's getaddrinfo (TCP addresses, IPv4 and IPv6, sorted, unique).
Resolver DnsResolver();

}  // namespace baton::router
