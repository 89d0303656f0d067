#include "serving/worker_network.h"

#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "common/status_macros.h"
#include "common/tls_flags.h"
#include "serving/advertise.h"

ABSL_FLAG(std::string, advertise_address, "",
          "Host routers and KV peers reach this worker at (default: $POD_IP, else --host unless "
          "it is 0.0.0.0, else this machine's first non-loopback IPv4 address); UCX is pinned to "
          "its interface unless NET_DEVICES is set.");

namespace baton::serving {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

}  // namespace

absl::Status ApplyWorkerNetworkFlags(EndpointOptions& endpoints, TransportOptions& transport) {
  ASSIGN_OR_RETURN(endpoints.tls, common::TlsFromFlags());
  ASSIGN_OR_RETURN(endpoints.advertise_host,
                   AdvertiseHost(absl::GetFlag(FLAGS_advertise_address), Env("POD_IP"),
                                 endpoints.host));
  transport.ucx_config = UcxSettingsFor(std::move(transport.ucx_config), Env("UCX_NET_DEVICES"),
                                        endpoints.advertise_host);
  return absl::OkStatus();
}

}  // namespace baton::serving
