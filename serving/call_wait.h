// How a worker's sync-API gRPC handler waits for what its scheduler produces: on the request's
// EventQueue, checking every few milliseconds whether the client cancelled the call; and a cap
// on concurrent calls, which bounds the gRPC threads a worker's requests occupy.
//
// Threading: NextOrCancelled is called on the handler's gRPC thread (the queue is thread-safe);
// CallLimiter is thread-safe.
#pragma once

#include <atomic>
#include <optional>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "serving/event_queue.h"

namespace baton::serving {

// How often a waiting handler checks whether its client went away.
inline constexpr absl::Duration kCancelPollPeriod = absl::Milliseconds(20);

// The next item of `queue`, or nullopt once `context` is cancelled (the caller then cancels the
// request on its scheduler) or, when given, `give_up` has passed (a scheduler that may have
// stopped and will never answer).
template <typename T>
std::optional<T> NextOrCancelled(EventQueue<T>& queue, grpc::ServerContext& context,
                                 absl::Time give_up = absl::InfiniteFuture()) {
  while (true) {
    std::optional<T> item = queue.PopWithTimeout(kCancelPollPeriod);
    if (item.has_value()) return item;
    if (context.IsCancelled()) return std::nullopt;
    if (give_up != absl::InfiniteFuture() && absl::Now() >= give_up) return std::nullopt;
  }
}

// Admits at most `max_calls` concurrent calls.
class CallLimiter {
 public:
  explicit CallLimiter(int max_calls) : max_calls_(max_calls) {}

  // Holds one slot while alive; admitted() is false when none was free.
  class Slot {
   public:
    explicit Slot(CallLimiter& limiter) : limiter_(limiter) {
      admitted_ = limiter_.active_.fetch_add(1) < limiter_.max_calls_;
    }
    ~Slot() { limiter_.active_.fetch_sub(1); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    bool admitted() const { return admitted_; }

   private:
    CallLimiter& limiter_;
    bool admitted_ = false;
  };

 private:
  const int max_calls_;
  std::atomic<int> active_{0};
};

}  // namespace baton::serving
