#include "router/lease_renewer.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "router/testing/fake_worker.h"
#include "serving/testing/fake_monotonic_clock.h"

namespace baton::router {
namespace {

namespace v1 = ::baton::internal::v1;
using testing::FakeKvFabric;
using testing::FakeWorker;

class LeaseRenewerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    decode_ = FakeWorker::Start(v1::WORKER_ROLE_DECODE, &fabric_);
    decode_->SetLease(kLease);
    stub_ = v1::DecodeService::NewStub(
        grpc::CreateChannel(decode_->address(), grpc::InsecureChannelCredentials()));
  }

  // A transfer id the fake decode worker recognizes as its own.
  std::string TransferId() const { return absl::StrCat(decode_->port(), "-1"); }

  // Polls until the fake decode worker answered `count` renewals, for up to 30 s.
  bool WaitForRenewals(int32_t count) const {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (decode_->renewals() < count && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return decode_->renewals() >= count;
  }

  static constexpr absl::Duration kLease = absl::Milliseconds(150);
  serving::testing::FakeMonotonicClock clock_;
  FakeKvFabric fabric_;
  std::unique_ptr<FakeWorker> decode_;
  std::unique_ptr<v1::DecodeService::Stub> stub_;
};

// While renewing, the lease is held however far the clock moves between renewals' answers; once
// renewals stop (the prefill ended, or the router gave up), it ends one lease after the last.
TEST_F(LeaseRenewerTest, RenewsUntilStoppedThenTheLeaseRunsOut) {
  LeaseRenewer renewer(*stub_, TransferId(), absl::ToUnixMicros(absl::Now() + kLease), &clock_);
  EXPECT_TRUE(renewer.Held());
  ASSERT_TRUE(WaitForRenewals(3));
  renewer.Stop();
  const int32_t renewals = decode_->renewals();
  // Every answer that reached the renewer is counted, also one that arrived as Stop came; one
  // that Stop cancelled on its way back was counted by the decode worker only.
  EXPECT_GE(renewer.renewals(), renewals - 1);
  EXPECT_LE(renewer.renewals(), renewals);
  EXPECT_TRUE(renewer.Held());  // the clock has not moved since the last one
  clock_.Advance(kLease);
  EXPECT_FALSE(renewer.Held());
  EXPECT_EQ(decode_->renewals(), renewals);  // joined: no renewal after Stop
}

// A decode worker that no longer holds the reservation (NOT_FOUND) ends the renewals at once.
TEST_F(LeaseRenewerTest, StopsWhenTheReservationIsGone) {
  LeaseRenewer renewer(*stub_, "not-its-transfer", absl::ToUnixMicros(absl::Now() + kLease),
                       &clock_);
  // A renewal of the other, real transfer shows time enough passed for several attempts.
  LeaseRenewer other(*stub_, TransferId(), absl::ToUnixMicros(absl::Now() + kLease), &clock_);
  ASSERT_TRUE(WaitForRenewals(3));
  EXPECT_EQ(renewer.renewals(), 0);
  clock_.Advance(kLease);
  EXPECT_FALSE(renewer.Held());
}

// A KvTarget without a lease deadline: nothing to renew, always held.
TEST_F(LeaseRenewerTest, NoLeaseIsAlwaysHeld) {
  LeaseRenewer renewer(*stub_, TransferId(), 0, &clock_);
  clock_.Advance(absl::Hours(1));
  EXPECT_TRUE(renewer.Held());
  renewer.Stop();
  EXPECT_EQ(decode_->renewals(), 0);
}

}  // namespace
}  // namespace baton::router
