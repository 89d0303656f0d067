// KvTransport over UCX (UCP active messages), for host-memory pools between processes: on one
// host over tcp, posix/sysv shared memory or cma; on clusters over RDMA, as UCX's own
// UCX_TLS / UCX_NET_DEVICES settings (or Options::ucx_config) choose.
//
// How bytes move: each run of a layer (see write_plan.h) is one active message whose header
// names the pool, transfer, layer and block range. Small runs go eager and are copied into the
// pool; large runs use UCX rendezvous, and the receiver's ucp_am_recv_data_nbx pulls them
// straight into the pool slab (zero copy over cma/RDMA get). Because the *receiver* places
// every byte, it can refuse writes for unknown, aborted or expired transfers (the sender's
// rendezvous send then fails with kAborted), which is what makes block reuse safe; plain RMA
// put could not be refused, and over tcp UCX only emulates it slowly. KvTarget::remote_keys is
// left empty: no remote key is needed.
//
// The target's worker_address is the receiving ucp worker address; senders keep one endpoint
// per peer address (error mode PEER), dropped when the peer fails. Completion: after every
// layer's sends completed, a Finish message and an endpoint flush.
//
// Threading: thread-safe. One progress thread per transport owns the UCP worker; it spins for
// Options::spin_before_sleep after the last activity, then sleeps on the worker's event fd
// (ucp_worker_arm), so an idle transport burns no CPU. Sender callbacks run on the progress
// thread; receiver callbacks on the receiver's own callback thread. Receivers and streams'
// callbacks must be done (receivers destroyed) before the transport is destroyed.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kvtransfer/kv_transport.h"

namespace baton::kvtransfer {

inline constexpr char kUcxTransportName[] = "ucx";

class UcxKvTransport : public KvTransport {
 public:
  struct Options {
    // UCX settings applied on top of the environment's UCX_* variables, without the UCX_
    // prefix: {{"TLS", "tcp"}, {"NET_DEVICES", "lo"}}. A value UCX cannot parse is
    // kInvalidArgument (UCX itself only warns about unknown names).
    std::vector<std::pair<std::string, std::string>> ucx_config;
    // How long the progress thread keeps polling after activity before it sleeps.
    absl::Duration spin_before_sleep = absl::Microseconds(200);
    // After a stream fails (deadline, cancel, peer error) its outstanding UCX requests are
    // cancelled; those still pending after this long are ended by force-closing the endpoint
    // (which also fails other streams to that peer with kUnavailable).
    absl::Duration cancel_grace = absl::Milliseconds(20);
    // Largest run sent as one message, in blocks.
    int32_t max_run_blocks = 256;
  };

  // Creates the UCP context, worker and progress thread. kInvalidArgument for bad ucx_config;
  // kUnavailable when UCX finds no usable transport.
  static absl::StatusOr<std::unique_ptr<UcxKvTransport>> Create(const Options& options);
};

}  // namespace baton::kvtransfer
