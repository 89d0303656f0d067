// Registers the UCX transport as "ucx".
#include "kvtransfer/transport_registry.h"
#include "kvtransfer/ucx/ucx_kv_transport.h"

namespace baton::kvtransfer {
namespace {

absl::StatusOr<std::unique_ptr<KvTransport>> CreateUcx(const TransportSettings& settings) {
  if (settings.progress_spin < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the KV progress spin must not be negative");
  }
  UcxKvTransport::Options options;
  options.ucx_config = settings.ucx_config;
  options.spin_before_sleep = settings.progress_spin;
  absl::StatusOr<std::unique_ptr<UcxKvTransport>> transport = UcxKvTransport::Create(options);
  if (!transport.ok()) return transport.status();
  return std::unique_ptr<KvTransport>(*std::move(transport));
}

const bool kRegistered = RegisterTransport(kUcxTransportName, CreateUcx);

}  // namespace
}  // namespace baton::kvtransfer
