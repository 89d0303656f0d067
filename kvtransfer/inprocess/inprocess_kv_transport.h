// An in-process KvTransport for unit tests and single-process setups: senders and receivers of
// one process meet through a process-wide registry of receivers, and writes are memcpy's done on
// the sending transport's own thread. It keeps every contract of kv_transport.h (asynchronous
// callbacks, exactly-once, drops for unknown ids, deadlines, cancel), so code written against it
// behaves the same over UCX.
//
// Threading: thread-safe. Sender callbacks run on the sending transport's worker thread;
// receiver callbacks on the receiver's callback thread.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "kvtransfer/kv_transport.h"

namespace baton::kvtransfer {

inline constexpr char kInProcessTransportName[] = "inprocess";

class InProcessKvTransport : public KvTransport {
 public:
  static absl::StatusOr<std::unique_ptr<KvTransport>> Create();
};

}  // namespace baton::kvtransfer
