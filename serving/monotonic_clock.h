// The time source of a worker's leases and timeouts: monotonic, so a step of the machine's wall
// clock (seen to jump by seconds on VMs) cannot end a lease early or late, and injectable, so
// tests move time by hand instead of sleeping (testing/fake_monotonic_clock.h).
//
// Threading: implementations are thread-safe.
#pragma once

#include <chrono>

#include "absl/time/time.h"

namespace baton::serving {

class MonotonicClock {
 public:
  virtual ~MonotonicClock() = default;
  // Time since an arbitrary fixed origin; never goes back.
  virtual absl::Duration Now() const = 0;
};

// std::chrono::steady_clock.
class SteadyClock final : public MonotonicClock {
 public:
  absl::Duration Now() const override {
    return absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
  }
  // The process-wide instance.
  static const MonotonicClock* Get() {
    static const SteadyClock clock;
    return &clock;
  }
};

}  // namespace baton::serving
