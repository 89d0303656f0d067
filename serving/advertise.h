// The address a worker tells others to reach it at (routers through WorkerLoad.address, UCX
// peers through the UCX worker address in its KvTarget): never 127.0.0.1 when the worker listens
// on every interface, so that it works across hosts and pods.
//
// Thread-safe free functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace baton::serving {

// `flag` when set; else `pod_ip` (the POD_IP environment variable, Kubernetes' downward API)
// when set; else `listen_host` unless it is a wildcard (0.0.0.0, ::, empty); else the first
// IPv4 address of an interface that is up and not loopback. kNotFound when there is none.
absl::StatusOr<std::string> AdvertiseHost(const std::string& flag, const std::string& pod_ip,
                                          const std::string& listen_host);

// Name of the network interface holding the IPv4 address `ip`; kNotFound when none does.
absl::StatusOr<std::string> InterfaceOf(const std::string& ip);

// UCX settings for a worker advertising `host`: `settings` plus NET_DEVICES=<host's interface>
// unless NET_DEVICES is already set there or in `env_net_devices` (UCX_NET_DEVICES), so that the
// UCX worker address peers receive names only that interface. `host` on no local interface
// (e.g. a name): settings unchanged.
std::vector<std::pair<std::string, std::string>> UcxSettingsFor(
    std::vector<std::pair<std::string, std::string>> settings, const std::string& env_net_devices,
    const std::string& host);

}  // namespace baton::serving
