// A KvTransport decorator that injects faults on the sending side, for tests of the failure
// paths of code built on KvTransport (and of the transports' own guarantees):
//   delay        every WriteLayer reaches the inner transport `delay_per_layer` late;
//   drop         from layer `drop_from_layer` on, writes and the Finish silently vanish (their
//                callbacks report OK), like a link that went dark: the receiver must not complete;
//   corrupt      layer `corrupt_layer` is sent with one byte flipped, under the checksum of the
//                true bytes (uses KvSource::checksum_base and a shadow copy of the source pool);
//   fail bytes   once more than `fail_after_bytes` would have been sent, the stream is cancelled
//                and that write and everything after it fail with kUnavailable;
//   kill peer    `kill_peer` runs just before layer `kill_peer_at_layer` is forwarded.
// Receivers and everything else pass through unchanged.
//
// Threading: thread-safe. Forwarded calls run on the decorator's own thread (in order); the
// inner transport's callbacks run where the inner transport runs them.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "absl/time/time.h"
#include "kvtransfer/kv_transport.h"

namespace baton::kvtransfer::testing {

struct FaultPlan {
  absl::Duration delay_per_layer = absl::ZeroDuration();
  std::optional<int32_t> drop_from_layer;
  std::optional<int32_t> corrupt_layer;
  std::optional<uint64_t> fail_after_bytes;
  std::optional<int32_t> kill_peer_at_layer;
  std::function<void()> kill_peer;
};

// Wraps `inner` (owned); the plan applies to every stream it starts.
std::unique_ptr<KvTransport> MakeFaultInjectingKvTransport(std::unique_ptr<KvTransport> inner,
                                                           FaultPlan plan);

}  // namespace baton::kvtransfer::testing
