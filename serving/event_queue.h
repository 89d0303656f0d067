// A small unbounded multi-producer queue whose consumer waits with a timeout. The workers' gRPC
// handlers use one per request to receive what the scheduler thread produces for it.
//
// Threading: thread-safe.
#pragma once

#include <deque>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace baton::serving {

template <typename T>
class EventQueue {
 public:
  void Push(T value) {
    absl::MutexLock lock(&mu_);
    items_.push_back(std::move(value));
  }

  // The oldest item, or nullopt when none arrived within `timeout`.
  std::optional<T> PopWithTimeout(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !items_.empty(); };
    if (!mu_.AwaitWithTimeout(absl::Condition(&ready), timeout)) return std::nullopt;
    T value = std::move(items_.front());
    items_.pop_front();
    return value;
  }

 private:
  absl::Mutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
};

}  // namespace baton::serving
