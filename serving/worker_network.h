// The network flags both workers share: --advertise_address and the TLS flags
// (common/tls_flags.h). Only a worker's main() calls ApplyWorkerNetworkFlags.
#pragma once

#include "absl/status/status.h"
#include "serving/endpoints.h"
#include "serving/transport.h"

namespace baton::serving {

// Fills endpoints.tls and endpoints.advertise_host (serving/advertise.h: the flag, else POD_IP,
// else the listen host unless it is a wildcard, else a non-loopback address), and pins UCX to
// the advertised address's interface unless NET_DEVICES is set. Errors: unreadable TLS files,
// no address to advertise.
absl::Status ApplyWorkerNetworkFlags(EndpointOptions& endpoints, TransportOptions& transport);

}  // namespace baton::serving
