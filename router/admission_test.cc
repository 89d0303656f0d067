#include "router/admission.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::router {
namespace {

using ::baton::testing::IsOk;
using ::baton::testing::StatusIs;

TEST(AdmissionTest, RefusesAtOnceBeyondRunningAndWaiting) {
  Admission admission(2, 0);
  ASSERT_OK_AND_ASSIGN(auto a, admission.Enter(absl::InfiniteFuture()));
  ASSERT_OK_AND_ASSIGN(auto b, admission.Enter(absl::InfiniteFuture()));
  EXPECT_EQ(admission.running(), 2);
  const absl::Time start = absl::Now();
  EXPECT_THAT(admission.Enter(absl::InfiniteFuture()).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(50));
  b.reset();
  EXPECT_THAT(admission.Enter(absl::InfiniteFuture()).status(), IsOk());
}

TEST(AdmissionTest, WaiterGetsTheNextFreeSlot) {
  Admission admission(1, 1);
  ASSERT_OK_AND_ASSIGN(auto first, admission.Enter(absl::InfiniteFuture()));
  absl::Notification admitted;
  std::thread waiter([&] {
    auto slot = admission.Enter(absl::InfiniteFuture());
    EXPECT_THAT(slot.status(), IsOk());
    admitted.Notify();
  });
  while (admission.waiting() == 0) absl::SleepFor(absl::Milliseconds(1));
  // The queue (one place) is full: a third request is refused.
  EXPECT_THAT(admission.Enter(absl::InfiniteFuture()).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_FALSE(admitted.HasBeenNotified());
  first.reset();
  admitted.WaitForNotification();
  waiter.join();
  EXPECT_EQ(admission.running(), 0);
  EXPECT_EQ(admission.waiting(), 0);
}

TEST(AdmissionTest, WaitingEndsAtTheDeadline) {
  Admission admission(1, 4);
  ASSERT_OK_AND_ASSIGN(auto first, admission.Enter(absl::InfiniteFuture()));
  EXPECT_THAT(admission.Enter(absl::Now() - absl::Seconds(1)).status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(admission.waiting(), 0);
}

}  // namespace
}  // namespace baton::router
