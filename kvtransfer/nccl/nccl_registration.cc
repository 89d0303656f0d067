// Registers the NCCL transport as "nccl" in every build; without --config=cuda its Create says
// that it needs a CUDA build.
#include "kvtransfer/nccl/nccl_kv_transport.h"
#include "kvtransfer/transport_registry.h"

namespace baton::kvtransfer {
namespace {

absl::StatusOr<std::unique_ptr<KvTransport>> CreateNccl(const TransportSettings& settings) {
  NcclKvTransport::Options options;
  options.cuda_device = settings.cuda_device;
  absl::StatusOr<std::unique_ptr<NcclKvTransport>> transport = NcclKvTransport::Create(options);
  if (!transport.ok()) return transport.status();
  return std::unique_ptr<KvTransport>(*std::move(transport));
}

const bool kRegistered = RegisterTransport(kNcclTransportName, CreateNccl);

}  // namespace
}  // namespace baton::kvtransfer
