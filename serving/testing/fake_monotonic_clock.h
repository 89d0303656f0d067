// A MonotonicClock that only moves when the test says so. Thread-safe.
#pragma once

#include "absl/synchronization/mutex.h"
#include "serving/monotonic_clock.h"

namespace baton::serving::testing {

class FakeMonotonicClock final : public MonotonicClock {
 public:
  absl::Duration Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Duration now_ ABSL_GUARDED_BY(mu_) = absl::Hours(1);
};

}  // namespace baton::serving::testing
