// The address a UcxKvTransport publishes (KvTarget::worker_address, and a put writer's address in
// its handshake): the host's identity, then the UCP worker address.
//
// Why: an endpoint asking UCX for peer-failure detection (error mode PEER) cannot use UCX 1.13's
// shared-memory transports, so with UCX_TLS=all (the default) two processes on one host would talk
// over tcp loopback instead of shared memory. Knowing that the peer shares this host, the transport
// connects without that mode and UCX picks shared memory (deadlines then bound what a dead peer
// costs, as they always did on shared memory).
//
// Host identity: the kernel's boot id (/proc/sys/kernel/random/boot_id), else the host name.
// Thread-safe free functions.
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace baton::kvtransfer {

// This host's identity; computed once. Never empty.
const std::string& HostIdentity();

struct PeerAddress {
  std::string host;         // HostIdentity() of the peer's host.
  std::string ucp_address;  // As ucp_worker_get_address returned it.
};

// host length (1 byte), host, then the UCP address.
std::string PackPeerAddress(absl::string_view host, absl::string_view ucp_address);
// nullopt when `packed` is too short for the lengths it announces or has no UCP address.
std::optional<PeerAddress> ParsePeerAddress(absl::string_view packed);

}  // namespace baton::kvtransfer
