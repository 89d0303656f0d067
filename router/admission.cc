#include "router/admission.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace baton::router {

Admission::Slot::~Slot() { owner_->Leave(); }

absl::StatusOr<std::unique_ptr<Admission::Slot>> Admission::Enter(absl::Time deadline) {
  const absl::Time start = absl::Now();
  absl::MutexLock lock(&mu_);
  if (running_ >= max_running_) {
    if (waiting_ >= max_waiting_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the router is at capacity (", max_running_, " requests running, ",
                       max_waiting_, " waiting); retry later"));
    }
    ++waiting_;
    const bool got = mu_.AwaitWithDeadline(
        absl::Condition(
            +[](Admission* a) ABSL_EXCLUSIVE_LOCKS_REQUIRED(a->mu_) {
              return a->running_ < a->max_running_;
            },
            this),
        deadline);
    --waiting_;
    if (!got) {
      return absl::DeadlineExceededError("the deadline passed while waiting for admission");
    }
  }
  ++running_;
  return std::unique_ptr<Slot>(new Slot(this, absl::Now() - start));
}

void Admission::Leave() {
  absl::MutexLock lock(&mu_);
  --running_;
}

int32_t Admission::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

int32_t Admission::waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_;
}

}  // namespace baton::router
