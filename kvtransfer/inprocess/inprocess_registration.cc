// Registers the in-process transport (tests: both workers in one process) as "inprocess".
#include "kvtransfer/inprocess/inprocess_kv_transport.h"
#include "kvtransfer/transport_registry.h"

namespace baton::kvtransfer {
namespace {

const bool kRegistered =
    RegisterTransport(kInProcessTransportName,
                      [](const TransportSettings&) { return InProcessKvTransport::Create(); });

}  // namespace
}  // namespace baton::kvtransfer
