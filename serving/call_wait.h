// How a worker's sync-API gRPC handler waits for what its scheduler produces: on the request's
// EventQueue, checking every few milliseconds whether the client cancelled the call.
//
// Threading: called on the handler's gRPC thread; the queue is thread-safe.
#pragma once

#include <optional>

#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "serving/event_queue.h"

namespace baton::serving {

// How often a waiting handler checks whether its client went away.
inline constexpr absl::Duration kCancelPollPeriod = absl::Milliseconds(20);

// The next item of `queue`, or nullopt once `context` is cancelled (the caller then cancels the
// request on its scheduler).
template <typename T>
std::optional<T> NextOrCancelled(EventQueue<T>& queue, grpc::ServerContext& context) {
  while (true) {
    std::optional<T> item = queue.PopWithTimeout(kCancelPollPeriod);
    if (item.has_value()) return item;
    if (context.IsCancelled()) return std::nullopt;
  }
}

}  // namespace baton::serving
