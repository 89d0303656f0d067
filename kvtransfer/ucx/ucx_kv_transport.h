// KvTransport over UCX (UCP active messages), for host-memory pools between processes: on one host
// over tcp, posix/sysv shared memory or cma; on clusters over RDMA, as UCX's own UCX_TLS /
// UCX_NET_DEVICES settings (or Options::ucx_config) choose.
//
// How bytes move, per Options::write_mode:
// - Active messages (the default on tcp): each run of a layer (see write_plan.h) is one active
//   message whose header names the pool, transfer, layer and block range. Small runs go eager
//   and are copied into the pool; large runs use UCX rendezvous, and the receiver's
//   ucp_am_recv_data_nbx pulls them straight into the pool slab (zero copy over cma/RDMA get).
//   Because the *receiver* places every byte, it refuses writes for unknown, aborted or expired
//   transfers (the sender's rendezvous send then fails with kAborted).
// - RMA put (kAuto, the default, where it is a memcpy or RDMA; or kPut, see Choosing):
//   the receiver maps its pool once and publishes the packed rkey in
//   KvTarget::remote_keys; the sender registers as a writer of the transfer (a handshake the
//   receiver may refuse), ucp_put_nbx's each run to base + Offset, flushes the endpoint (remote
//   completion) and then announces the layer's runs with payload-less messages, which the
//   receiver counts (and checksums) exactly as landed active messages. The receiver cannot
//   refuse a put, so when a transfer is decided (abort, deadline, checksum mismatch, completed
//   by another writer) while a registered writer has not finished, it asks the writer to stop
//   and holds on_complete (and so the blocks) until the writer reports that it stopped with
//   every put flushed, the endpoint to the writer failed (peer dead), or
//   Options::put_quarantine passed.
// - Choosing: UCX 1.13 has no query for an endpoint's transports, so the endpoint's lane table
//   is read (ucp_ep_print_info). Put is never used over an endpoint with a tcp lane: UCX's put
//   over tcp is an emulation ~100x slower than active messages here, and it crashed the
//   receiving process in our tests (receivers refuse such writers too). kAuto puts where the
//   unpacked rkey maps the receiver's pool into this process (ucp_rkey_ptr succeeds: a pool
//   from AllocatePoolMemory, shared memory on one host) or a lane does RDMA (an rma_bw lane
//   other than tcp, cma and shared memory); kPut also over cma into ordinary memory and where
//   UCX emulates put over shared-memory active messages.
// - Pool memory: AllocatePoolMemory maps memory with UCP_MEM_MAP_ALLOCATE (shared memory on
//   one host, as ucx_perftest allocates its buffers); a receiver on such memory reuses that
//   mapping, and senders cache unpacked rkeys per endpoint (unpacking attaches the segment).
//
// The target's worker_address is the receiving worker's UCP worker address; senders keep one
// endpoint per peer address, dropped when the peer fails, with error mode PEER (peer-failure
// detection) wherever a configured transport offers it, peers on this host included (a
// shared-memory queue is not crash-safe: ucx_transport_impl.cc). Completion: after every layer's sends (or
// announcements) completed, a Finish message and an endpoint flush.
//
// Threading: thread-safe. One progress thread per transport owns the UCP worker; it spins for
// Options::spin_before_sleep after the last activity, then sleeps on the worker's event fd
// (ucp_worker_arm), so an idle transport burns no CPU. Sender callbacks run on the progress thread;
// receiver callbacks on the receiver's own callback thread. Receivers and streams' callbacks must
// be done (receivers destroyed) before the transport is destroyed.
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
    // prefix: {{"TLS", "tcp"}, {"NET_DEVICES", "lo"}}; they also override the tuned defaults of
    // ucx_settings.h. A value UCX cannot parse is
    // kInvalidArgument (UCX itself only warns about unknown names).
    std::vector<std::pair<std::string, std::string>> ucx_config;
    // How long the progress thread keeps polling after activity before it sleeps.
    absl::Duration spin_before_sleep = absl::Microseconds(200);
    // Receiving: after ExpectTransfer, the progress thread polls at least this long, so the
    // sender's first message (the put writer's handshake) does not wait for it to wake up. Zero:
    // off.
    absl::Duration poll_after_expect = absl::Milliseconds(2);
    // After a stream fails (deadline, cancel, peer error) its outstanding UCX requests are
    // cancelled; those still pending after this long are ended by force-closing the endpoint
    // (which also fails other streams to that peer with kUnavailable). A last resort for a peer
    // that is alive but stuck (a dead one fails the requests through peer-failure detection):
    // rendezvous sends already under way cannot be cancelled and finish on their own, and a
    // force close while they do loses the abort message queued behind them and, in UCX 1.13 over
    // tcp, left the receiver's rendezvous receive pending forever and crashed the sender inside
    // uct_tcp progress. With 20 ms here, a cancelled 32 MiB tcp transfer on a loaded 2-core
    // machine hit that in 9 of 40 runs.
    absl::Duration cancel_grace = absl::Seconds(2);
    // Largest run sent as one message, in blocks.
    int32_t max_run_blocks = 256;
    // Put mode: largest single ucp_put_nbx (at least 64 bytes); a run is put in pieces of this
    // size. Into a shared-memory pool on the dev VM, 256-512 KiB puts copied 15-20 GB/s, 1 MiB
    // ones 10-14 (kv_bench --put_fragment_kib).
    size_t put_fragment_bytes = 256 * 1024;

    enum class WriteMode {
      kAuto,           // Put where the receiver's pool is mapped into the sender (a pool from
                       // AllocatePoolMemory on the same host; behind tcp lanes, plain copies
                       // through that mapping) or a lane does RDMA, else AM.
      kActiveMessage,  // Always AM. A receiver in this mode publishes no rkey, refuses puts.
      kPut,            // Put on any endpoint without a tcp lane (also cma, emulated shm), copies
                       // into a mapped pool behind tcp lanes, else AM.
    };
    // Sending: how to write. Receiving: kActiveMessage publishes no rkey; otherwise puts are
    // accepted from writers that register. Default kAuto: into a pool from AllocatePoolMemory on
    // one host a put is one memcpy and ran at about twice the active messages' bandwidth over cma
    // (docs/BENCHMARKS.md run G); put into ordinary memory through cma measured 0.3-8.5 GB/s run to
    // run (runs D-F), so kAuto leaves that case to active messages.
    WriteMode write_mode = WriteMode::kAuto;
    // Receiving, put mode: how long a decided transfer waits for a put writer that does not report
    // stopping (hung or dead without peer-failure detection) before its blocks are released anyway.
    // Should exceed the time a sender needs to notice its deadline.
    absl::Duration put_quarantine = absl::Seconds(2);
  };

  // Creates the UCP context, worker and progress thread. kInvalidArgument for bad ucx_config;
  // kUnavailable when UCX finds no usable transport.
  static absl::StatusOr<std::unique_ptr<UcxKvTransport>> Create(const Options& options);
};

}  // namespace baton::kvtransfer
