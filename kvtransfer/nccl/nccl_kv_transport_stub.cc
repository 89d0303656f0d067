// The NCCL transport when built without --config=cuda.
#include "kvtransfer/nccl/nccl_kv_transport.h"

namespace baton::kvtransfer {

absl::StatusOr<std::unique_ptr<NcclKvTransport>> NcclKvTransport::Create(const Options&) {
  return absl::UnimplementedError("the NCCL KV transport needs a build with --config=cuda");
}

}  // namespace baton::kvtransfer
