// Admission control: at most `max_running` requests run at once and at most `max_waiting` wait for
// a slot; a request beyond both is refused at once (kResourceExhausted), so overload costs a fast
// 429 / RESOURCE_EXHAUSTED instead of unbounded memory and latency.
//
// Thread-safe. A Slot releases its place when destroyed.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace baton::router {

class Admission {
 public:
  class Slot {
   public:
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    // How long the request waited for its slot.
    absl::Duration waited() const { return waited_; }

   private:
    friend class Admission;
    Slot(Admission* owner, absl::Duration waited) : owner_(owner), waited_(waited) {}
    Admission* owner_;
    absl::Duration waited_;
  };

  Admission(int32_t max_running, int32_t max_waiting)
      : max_running_(max_running), max_waiting_(max_waiting) {}

  // A running slot, waiting for one until `deadline` when all are taken and the queue has room.
  // kResourceExhausted when the queue is full too (the message gives both limits);
  // kDeadlineExceeded when the deadline passes while waiting.
  absl::StatusOr<std::unique_ptr<Slot>> Enter(absl::Time deadline);

  int32_t running() const;
  int32_t waiting() const;

 private:
  void Leave();

  const int32_t max_running_;
  const int32_t max_waiting_;
  mutable absl::Mutex mu_;
  int32_t running_ ABSL_GUARDED_BY(mu_) = 0;
  int32_t waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace baton::router
