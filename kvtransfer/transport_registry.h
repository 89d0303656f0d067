// Transports by name. Each implementation registers a factory under its name from its own
// registration library (alwayslink), so a worker picks its transport with --transport=NAME and a
// new transport is added by linking its registration into //kvtransfer:registered_transports,
// without touching the workers or serving/.
//
// Threading: registration happens during static initialization; lookups are thread-safe after.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kvtransfer/kv_transport.h"

namespace baton::kvtransfer {

// Settings a worker hands to whichever transport it picked; each transport reads the ones that
// concern it and ignores the rest.
struct TransportSettings {
  // UCX settings without the UCX_ prefix, e.g. {{"TLS", "tcp"}}; applied over the environment.
  std::vector<std::pair<std::string, std::string>> ucx_config;
  // UCX: how long the progress thread keeps polling after activity before it sleeps.
  absl::Duration progress_spin = absl::Microseconds(200);
  // NCCL: the CUDA device the KV pool lives on.
  int cuda_device = 0;
};

using TransportFactory =
    std::function<absl::StatusOr<std::unique_ptr<KvTransport>>(const TransportSettings&)>;

// Registers `factory` under `name`. Returns true so that a registration can initialize a
// namespace-scope constant. Registering a name twice keeps the first and logs nothing: the
// registration libraries are linked once each.
bool RegisterTransport(absl::string_view name, TransportFactory factory);

// Creates the transport registered as `name`. kInvalidArgument naming the registered transports
// when there is none by that name; otherwise whatever the factory returns.
absl::StatusOr<std::unique_ptr<KvTransport>> CreateRegisteredTransport(
    absl::string_view name, const TransportSettings& settings);

// Names of every registered transport, sorted.
std::vector<std::string> RegisteredTransportNames();

}  // namespace baton::kvtransfer
