// Test helpers that turn the transport's asynchronous callbacks into values a test can wait
// for with a timeout. Thread-safe: callbacks may run on any thread; the waiter outlives nothing
// (state is shared with the callback).
#pragma once

#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kvtransfer/kv_transport.h"

namespace baton::kvtransfer::testing {

template <typename T>
class Waiter {
 public:
  // The callback to hand to the transport. Counts calls, so tests can assert "exactly once".
  absl::AnyInvocable<void(T) &&> Callback() {
    return [state = state_](T value) {
      absl::MutexLock lock(&state->mu);
      ++state->calls;
      if (!state->value.has_value()) state->value.emplace(std::move(value));
    };
  }
  // The first value, or kDeadlineExceeded("callback did not run") after `timeout`.
  T Wait(absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&state_->mu);
    state_->mu.AwaitWithTimeout(absl::Condition(
                                    +[](State* s) { return s->value.has_value(); }, state_.get()),
                                timeout);
    if (!state_->value.has_value()) return T(absl::DeadlineExceededError("callback did not run"));
    return *state_->value;
  }
  bool HasRun() const {
    absl::MutexLock lock(&state_->mu);
    return state_->value.has_value();
  }
  int calls() const {
    absl::MutexLock lock(&state_->mu);
    return state_->calls;
  }

 private:
  struct State {
    absl::Mutex mu;
    std::optional<T> value;
    int calls = 0;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

using StatusWaiter = Waiter<absl::Status>;
using ReceiveWaiter = Waiter<absl::StatusOr<ReceiveResult>>;

// Waits (up to `timeout`) until every counter of `transport` that tracks live work is zero:
// no registration, no sending or receiving transfer, no landing. Returns OK, or
// kDeadlineExceeded naming the counters that stayed non-zero (a leak).
inline absl::Status WaitUntilIdle(const KvTransport& transport,
                                  absl::Duration timeout = absl::Seconds(3)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const TransportStats stats = transport.Stats();
    if (stats.live_registrations == 0 && stats.sending_transfers == 0 &&
        stats.receiving_transfers == 0 && stats.landings_in_flight == 0) {
      return absl::OkStatus();
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "transport not idle: registrations ", stats.live_registrations, " sending ",
          stats.sending_transfers, " receiving ", stats.receiving_transfers, " landing ",
          stats.landings_in_flight));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

}  // namespace baton::kvtransfer::testing
