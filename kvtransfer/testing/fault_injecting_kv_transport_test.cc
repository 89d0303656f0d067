#include "kvtransfer/testing/fault_injecting_kv_transport.h"

#include <vector>

#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "kvtransfer/inprocess/inprocess_kv_transport.h"
#include "kvtransfer/testing/kv_pattern.h"
#include "kvtransfer/testing/waiters.h"

namespace baton::kvtransfer::testing {
namespace {

using ::baton::testing::IsOk;
using ::baton::testing::StatusIs;

class FaultInjectionTest : public ::testing::Test {
 protected:
  FaultInjectionTest() : dst_(Layout(), 8), src_(Layout(), 8) {
    src_.FillPattern({0, 1, 2, 3}, 21);
    receiving_ = std::move(*InProcessKvTransport::Create());
    receiver_ = std::move(*receiving_->CreateReceiver(dst_.data(), 8, Layout()));
  }

  static engine::KvLayout Layout() { return {4, 2, 8, 4, engine::KvDType::kF16}; }

  // Runs one transfer of blocks {0,1,2,3} -> {4,5,6,7} through a decorated sender.
  struct Outcome {
    absl::Status finish;
    std::vector<absl::Status> layers;
    absl::StatusOr<ReceiveResult> received;
  };
  Outcome Transfer(FaultPlan plan, bool checksum,
                   absl::Duration receive_deadline = absl::Seconds(10)) {
    auto sending =
        MakeFaultInjectingKvTransport(std::move(*InProcessKvTransport::Create()), std::move(plan));
    ReceiveWaiter received;
    Outcome outcome;
    absl::StatusOr<KvTarget> target = receiver_->ExpectTransfer(
        1, {4, 5, 6, 7}, {absl::Now() + receive_deadline, checksum}, received.Callback());
    EXPECT_THAT(target.status(), IsOk());
    auto stream = sending->StartWrite(*target, {src_.data(), 8, Layout(), {0, 1, 2, 3}},
                                      absl::Now() + absl::Seconds(10));
    EXPECT_THAT(stream.status(), IsOk());
    std::vector<StatusWaiter> layers(Layout().num_layers);
    for (int32_t layer = 0; layer < Layout().num_layers; ++layer) {
      (*stream)->WriteLayer(layer, layers[layer].Callback());
    }
    StatusWaiter finish;
    (*stream)->Finish(Completion{8}, finish.Callback());
    outcome.finish = finish.Wait();
    for (auto& waiter : layers) outcome.layers.push_back(waiter.Wait());
    outcome.received = received.Wait();
    return outcome;
  }

  bool Intact() const {
    for (int32_t layer = 0; layer < Layout().num_layers; ++layer) {
      for (int32_t i = 0; i < 4; ++i) {
        if (!dst_.SlabHasPattern(layer, 4 + i, 21, i)) return false;
      }
    }
    return true;
  }

  HostPool dst_, src_;
  std::unique_ptr<KvTransport> receiving_;
  std::unique_ptr<KvReceiver> receiver_;
};

TEST_F(FaultInjectionTest, NoFaultsPassesThrough) {
  Outcome outcome = Transfer({}, /*checksum=*/true);
  EXPECT_THAT(outcome.finish, IsOk());
  ASSERT_THAT(outcome.received.status(), IsOk());
  EXPECT_EQ(outcome.received->completion.first_token, 8);
  EXPECT_TRUE(Intact());
}

TEST_F(FaultInjectionTest, DelayedLayersStillComplete) {
  FaultPlan plan;
  plan.delay_per_layer = absl::Milliseconds(30);
  const absl::Time start = absl::Now();
  Outcome outcome = Transfer(plan, false);
  EXPECT_THAT(outcome.received.status(), IsOk());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_TRUE(Intact());
}

TEST_F(FaultInjectionTest, CorruptionIsDataLossWithChecksums) {
  FaultPlan plan;
  plan.corrupt_layer = 2;
  Outcome outcome = Transfer(plan, /*checksum=*/true);
  EXPECT_THAT(outcome.received.status(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(FaultInjectionTest, CorruptionGoesUnnoticedWithoutChecksums) {
  FaultPlan plan;
  plan.corrupt_layer = 2;
  Outcome outcome = Transfer(plan, /*checksum=*/false);
  EXPECT_THAT(outcome.received.status(), IsOk());
  EXPECT_FALSE(Intact());  // Why the checksum option exists.
}

TEST_F(FaultInjectionTest, DroppedLayersNeverComplete) {
  FaultPlan plan;
  plan.drop_from_layer = 3;
  Outcome outcome = Transfer(plan, false, absl::Milliseconds(300));
  EXPECT_THAT(outcome.finish, IsOk());  // The sender cannot tell.
  EXPECT_THAT(outcome.received.status(), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(FaultInjectionTest, FailAfterBytesFailsBothSides) {
  FaultPlan plan;
  plan.fail_after_bytes = 2 * 4 * Layout().LayerBlockBytes();  // Two layers' worth.
  Outcome outcome = Transfer(plan, false);
  // Layers before the limit may still be cut short by the cancel (it is best effort).
  EXPECT_THAT(outcome.layers[2], StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(outcome.layers[3], StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(outcome.finish, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(outcome.received.status(), StatusIs(absl::StatusCode::kAborted));
}

TEST_F(FaultInjectionTest, KilledPeerIsUnavailable) {
  FaultPlan plan;
  plan.kill_peer_at_layer = 1;
  plan.kill_peer = [this] { receiver_.reset(); };
  Outcome outcome = Transfer(plan, false);
  EXPECT_THAT(outcome.layers[1], StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(outcome.finish, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(outcome.received.status(), StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(receiving_->Stats().live_registrations, 0);
}

}  // namespace
}  // namespace baton::kvtransfer::testing
