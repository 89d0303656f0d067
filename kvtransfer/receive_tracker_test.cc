#include "kvtransfer/receive_tracker.h"

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "kvtransfer/checksum.h"
#include "kvtransfer/testing/waiters.h"

namespace baton::kvtransfer {
namespace {

using ::baton::testing::IsOk;
using ::baton::testing::StatusIs;
using testing::ReceiveWaiter;

class ReceiveTrackerTest : public ::testing::Test {
 protected:
  static engine::KvLayout Layout() { return {2, 1, 4, 2, engine::KvDType::kF32}; }  // 64 B slab
  ReceiveTrackerTest() : pool_(Layout().PoolBytes(8), 0), tracker_(pool_.data(), 8, Layout()) {}

  std::vector<char> pool_;
  ReceiveTracker tracker_;
};

TEST_F(ReceiveTrackerTest, TargetDescribesThePoolAndTheTransfer) {
  const absl::Time deadline = absl::FromUnixSeconds(1000);
  const KvTarget target = tracker_.TargetFor(9, {4, 1}, {deadline, true});
  EXPECT_EQ(target.base_address, reinterpret_cast<uint64_t>(pool_.data()));
  EXPECT_EQ(target.pool_num_blocks, 8);
  EXPECT_EQ(target.block_ids, (std::vector<int32_t>{4, 1}));
  EXPECT_EQ(target.layout, Layout());
  EXPECT_EQ(target.transfer_id, 9u);
  EXPECT_TRUE(target.checksum);
  EXPECT_EQ(target.lease_deadline, deadline);
  EXPECT_TRUE(target.transport.empty());  // The transport's to set.
}

TEST_F(ReceiveTrackerTest, RefusesWritesThatDoNotFitALiveTransfer) {
  ReceiveWaiter done;
  ASSERT_THAT(tracker_.Expect(7, {2, 3, 5}, {absl::InfiniteFuture(), false}, done.Callback()),
              IsOk());
  const size_t slab = Layout().LayerBlockBytes();
  EXPECT_THAT(tracker_.BeginLanding(8, {0, 0, 1}, slab, std::nullopt).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(tracker_.BeginLanding(7, {2, 0, 1}, slab, std::nullopt).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));  // No layer 2.
  EXPECT_THAT(tracker_.BeginLanding(7, {0, 2, 2}, 2 * slab, std::nullopt).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));  // Past the block list.
  EXPECT_THAT(tracker_.BeginLanding(7, {0, 1, 2}, 2 * slab, std::nullopt).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));  // Blocks 3, 5: not consecutive.
  EXPECT_THAT(tracker_.BeginLanding(7, {0, 0, 2}, slab, std::nullopt).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));  // Wrong byte count.
  EXPECT_EQ(tracker_.dropped_writes(), 5);
  ASSERT_OK_AND_ASSIGN(auto landing, tracker_.BeginLanding(7, {1, 0, 2}, 2 * slab, std::nullopt));
  EXPECT_EQ(landing.destination, pool_.data() + Layout().Offset(1, 2, 8));
  tracker_.EndLanding(landing, absl::OkStatus());
  tracker_.Fail(7, absl::AbortedError("test"));
  EXPECT_THAT(done.Wait().status(), StatusIs(absl::StatusCode::kAborted));
}

TEST_F(ReceiveTrackerTest, AbortWaitsForLandingsInFlightBeforeFreeingBlocks) {
  ReceiveWaiter done;
  ASSERT_THAT(tracker_.Expect(1, {0, 1}, {absl::InfiniteFuture(), false}, done.Callback()), IsOk());
  ASSERT_OK_AND_ASSIGN(auto landing, tracker_.BeginLanding(1, {0, 0, 2}, 128, std::nullopt));
  tracker_.Fail(1, absl::AbortedError("client went away"));
  // New writes are refused at once, but the one in flight still owns the blocks.
  EXPECT_THAT(tracker_.BeginLanding(1, {1, 0, 2}, 128, std::nullopt).status(),
              StatusIs(absl::StatusCode::kNotFound));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(done.HasRun());
  EXPECT_THAT(tracker_.Expect(2, {1}, {absl::InfiniteFuture(), false}, ReceiveWaiter().Callback()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  tracker_.EndLanding(landing, absl::OkStatus());
  EXPECT_THAT(done.Wait().status(), StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(tracker_.landings_in_flight(), 0);
  ReceiveWaiter next;
  EXPECT_THAT(tracker_.Expect(2, {1}, {absl::InfiniteFuture(), false}, next.Callback()), IsOk());
  tracker_.Fail(2, absl::AbortedError("done"));
  EXPECT_EQ(done.calls(), 1);
}

TEST_F(ReceiveTrackerTest, CompletesOnlyWithEverySlabAndTheCompletion) {
  ReceiveWaiter done;
  ASSERT_THAT(
      tracker_.Expect(3, {4}, {absl::Now() + absl::Milliseconds(300), true}, done.Callback()),
      IsOk());
  ASSERT_OK_AND_ASSIGN(auto l0,
                       tracker_.BeginLanding(3, {0, 0, 1}, 64, KvChecksum(pool_.data(), 64)));
  tracker_.EndLanding(l0, absl::OkStatus());  // Zeros, checksum of zeros: fine.
  tracker_.SenderFinished(3, Completion{5});  // Layer 1 never came.
  EXPECT_THAT(done.Wait().status(), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

// The owner renewed its lease: the transfer's deadline moves (here from "never" to the past, so
// the test needs no waiting), and the blocks are freed once it passes.
TEST_F(ReceiveTrackerTest, ExtendDeadlineMovesTheDeadline) {
  ReceiveWaiter done;
  ASSERT_THAT(tracker_.Expect(3, {1, 2}, {absl::InfiniteFuture(), false}, done.Callback()),
              IsOk());
  tracker_.ExtendDeadline(4, absl::InfinitePast());  // unknown: ignored
  tracker_.ExtendDeadline(3, absl::Now() - absl::Seconds(1));
  EXPECT_THAT(done.Wait().status(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(tracker_.live_transfers(), 0);
  ReceiveWaiter next;
  EXPECT_THAT(tracker_.Expect(5, {1, 2}, {absl::InfiniteFuture(), false}, next.Callback()),
              IsOk());  // the blocks are free again
  tracker_.Fail(5, absl::AbortedError("test"));
  EXPECT_THAT(next.Wait().status(), StatusIs(absl::StatusCode::kAborted));
}

TEST_F(ReceiveTrackerTest, ChecksumMismatchIsDataLoss) {
  ReceiveWaiter done;
  ASSERT_THAT(tracker_.Expect(4, {6}, {absl::InfiniteFuture(), true}, done.Callback()), IsOk());
  ASSERT_OK_AND_ASSIGN(auto landing, tracker_.BeginLanding(4, {0, 0, 1}, 64, 12345));
  tracker_.EndLanding(landing, absl::OkStatus());
  EXPECT_THAT(done.Wait().status(), StatusIs(absl::StatusCode::kDataLoss));
  ReceiveWaiter again;
  ASSERT_THAT(tracker_.Expect(5, {6}, {absl::InfiniteFuture(), true}, again.Callback()), IsOk());
  EXPECT_THAT(tracker_.BeginLanding(5, {0, 0, 1}, 64, std::nullopt).status(),
              StatusIs(absl::StatusCode::kDataLoss));  // Checksums were asked for.
  EXPECT_THAT(again.Wait().status(), StatusIs(absl::StatusCode::kDataLoss));
}

// Put writers: a decided transfer is held until its writers stopped (stop requested once per
// writer), and a writer's completion counts as its stop.
TEST_F(ReceiveTrackerTest, DecidedTransferWaitsForItsPutWriters) {
  std::vector<std::pair<TransferId, uint64_t>> stops;
  absl::Mutex mu;
  tracker_.SetPutWriterPolicy(absl::Seconds(20), [&](TransferId id, uint64_t writer) {
    absl::MutexLock lock(&mu);
    stops.emplace_back(id, writer);
  });
  ReceiveWaiter done;
  ASSERT_THAT(tracker_.Expect(7, {2, 3}, {absl::InfiniteFuture(), false}, done.Callback()), IsOk());
  ASSERT_THAT(tracker_.AddPutWriter(7, 100), IsOk());
  ASSERT_THAT(tracker_.AddPutWriter(7, 101), IsOk());
  EXPECT_THAT(tracker_.AddPutWriter(8, 102), StatusIs(absl::StatusCode::kNotFound));
  tracker_.Fail(7, absl::AbortedError("abort"));
  EXPECT_THAT(tracker_.AddPutWriter(7, 103), StatusIs(absl::StatusCode::kNotFound));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(done.calls(), 0);
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(stops.size(), 2u);
  }
  ReceiveWaiter other;
  EXPECT_THAT(tracker_.Expect(9, {3}, {absl::InfiniteFuture(), false}, other.Callback()),
              StatusIs(absl::StatusCode::kFailedPrecondition));  // Block 3 is still held.
  tracker_.PutWriterStopped(7, 100);
  tracker_.SenderFinished(7, Completion{1},
                          101);  // A completion also means "stopped".
  EXPECT_THAT(done.Wait().status(), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(tracker_.Expect(9, {3}, {absl::InfiniteFuture(), false}, other.Callback()), IsOk());
  tracker_.Fail(9, absl::AbortedError("end"));
}

TEST_F(ReceiveTrackerTest, SilentPutWriterIsReleasedAfterTheQuarantine) {
  tracker_.SetPutWriterPolicy(absl::Milliseconds(200), [](TransferId, uint64_t) {});
  ReceiveWaiter done;
  ASSERT_THAT(
      tracker_.Expect(7, {2}, {absl::Now() + absl::Milliseconds(50), false}, done.Callback()),
      IsOk());
  ASSERT_THAT(tracker_.AddPutWriter(7, 100), IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT(done.Wait().status(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_GE(absl::Now() - start,
            absl::Milliseconds(240));  // Deadline, then quarantine.
}

}  // namespace
}  // namespace baton::kvtransfer
