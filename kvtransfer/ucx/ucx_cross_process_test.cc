// UCX between real processes on loopback: this test process on one side, ucx_peer children on
// the other, over tcp and over shared memory.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "kvtransfer/testing/child_process.h"
#include "kvtransfer/testing/kv_pattern.h"
#include "kvtransfer/testing/waiters.h"
#include "kvtransfer/ucx/ucx_cross_process_fixture.h"
#include "kvtransfer/ucx/ucx_kv_transport.h"

namespace baton::kvtransfer {
namespace {

using ::baton::testing::IsOk;
using ::baton::testing::StatusIs;
using testing::ChildProcess;
using testing::HostPool;

using testing::Wire;

class UcxCrossProcessTest : public testing::UcxCrossProcessFixture {};

void ExpectIdle(const KvTransport& transport) {
  EXPECT_THAT(testing::WaitUntilIdle(transport), ::baton::testing::IsOk());
}

TEST_P(UcxCrossProcessTest, SeveralSenderProcessesWriteIntoOnePool) {
  const engine::KvLayout layout = testing::OneBLayout();
  auto transport = MakeTransport();
  ASSERT_TRUE(transport);
  HostPool pool(layout, 64, MemoryFrom(*transport));
  {
    ASSERT_OK_AND_ASSIGN(auto receiver, transport->CreateReceiver(pool.data(), 64, layout));
    struct Plan {
      std::vector<int32_t> src, dst;
      bool checksum;
    };
    const std::vector<Plan> plans = {
        {{0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 7}, false},         // One run per layer.
        {{0, 1, 2, 3, 4, 5, 6, 7}, {8, 10, 12, 14, 16, 18, 20, 22}, false},  // Eight runs.
        {{5, 6, 7, 0, 1, 2, 3, 4}, {30, 31, 32, 33, 34, 35, 36, 37}, true},  // Two runs.
    };
    std::vector<std::unique_ptr<ChildProcess>> senders;
    std::vector<testing::ReceiveWaiter> received(plans.size());
    for (size_t s = 0; s < plans.size(); ++s) {
      ASSERT_OK_AND_ASSIGN(
          KvTarget target,
          receiver->ExpectTransfer(100 + s, plans[s].dst,
                                   {absl::Now() + absl::Seconds(30), plans[s].checksum},
                                   received[s].Callback()));
      senders.push_back(StartPeer("sender"));
      ASSERT_TRUE(senders.back());
      ASSERT_TRUE(senders.back()->WriteLine(absl::StrCat("WRITE ", 7 + s, " ",
                                                         absl::StrJoin(plans[s].src, ","), " ",
                                                         testing::TargetToLine(target))));
    }
    for (size_t s = 0; s < plans.size(); ++s) {
      EXPECT_EQ(senders[s]->ReadLineStartingWith("RESULT", absl::Seconds(30)), "RESULT OK");
      absl::StatusOr<ReceiveResult> result = received[s].Wait(absl::Seconds(30));
      ASSERT_THAT(result.status(), IsOk());
      EXPECT_EQ(result->completion.first_token, static_cast<int32_t>(7 + s));
      for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
        for (size_t i = 0; i < plans[s].dst.size(); ++i) {
          ASSERT_TRUE(pool.SlabHasPattern(layer, plans[s].dst[i], 7 + s, plans[s].src[i]))
              << "sender " << s << " layer " << layer << " block " << plans[s].dst[i];
        }
      }
    }
    for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
      for (int32_t block : {9, 11, 23, 29, 38, 63}) {
        EXPECT_TRUE(pool.SlabIsZero(layer, block)) << layer << " " << block;
      }
    }
    for (auto& sender : senders) EXPECT_EQ(sender->CloseAndWait(), 0);
    EXPECT_EQ(transport->Stats().receiving_transfers, 0);
  }
  ExpectIdle(*transport);
}

TEST_P(UcxCrossProcessTest, DeadPeerEndsWithinTheDeadline) {
  const engine::KvLayout layout = testing::OneBLayout();
  auto peer = StartPeer("receiver");
  ASSERT_TRUE(peer);
  ASSERT_TRUE(peer->WriteLine("EXPECT 5 0,1,2,3,4,5,6,7 60000 0"));
  std::optional<std::string> line = peer->ReadLineStartingWith("TARGET ", absl::Seconds(20));
  ASSERT_TRUE(line.has_value());
  ASSERT_OK_AND_ASSIGN(KvTarget target, testing::TargetFromLine(line->substr(7)));
  peer->Kill();

  auto transport = MakeTransport();
  ASSERT_TRUE(transport);
  HostPool source(layout, 8, MemoryFrom(*transport));
  const absl::Duration budget = absl::Seconds(3);
  const absl::Time start = absl::Now();
  const testing::Stopwatch stopwatch;
  ASSERT_OK_AND_ASSIGN(
      auto stream,
      transport->StartWrite(target, {source.data(), 8, layout, {0, 1, 2, 3, 4, 5, 6, 7}},
                            start + budget));
  std::vector<testing::StatusWaiter> layers(layout.num_layers);
  for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
    stream->WriteLayer(layer, layers[layer].Callback());
  }
  testing::StatusWaiter finish;
  stream->Finish(Completion{1}, finish.Callback());
  const absl::Status status = finish.Wait(absl::Seconds(20));
  const absl::Duration elapsed = stopwatch.Elapsed();
  EXPECT_TRUE(status.code() == absl::StatusCode::kUnavailable ||
              status.code() == absl::StatusCode::kDeadlineExceeded)
      << status;
  EXPECT_LT(elapsed, budget + absl::Milliseconds(500));
  for (auto& waiter : layers) EXPECT_FALSE(waiter.Wait(absl::Seconds(5)).ok());
  ExpectIdle(*transport);
}

TEST_P(UcxCrossProcessTest, CancelMidTransferAbortsTheReceiver) {
  const engine::KvLayout layout = testing::OneBLayout();
  auto peer = StartPeer("receiver");
  ASSERT_TRUE(peer);
  std::vector<int32_t> blocks;
  for (int32_t b = 0; b < 64; ++b) blocks.push_back(b);
  ASSERT_TRUE(peer->WriteLine(absl::StrCat("EXPECT 9 ", absl::StrJoin(blocks, ","), " 20000 0")));
  std::optional<std::string> line = peer->ReadLineStartingWith("TARGET ", absl::Seconds(20));
  ASSERT_TRUE(line.has_value());
  ASSERT_OK_AND_ASSIGN(KvTarget target, testing::TargetFromLine(line->substr(7)));

  auto transport = MakeTransport();
  ASSERT_TRUE(transport);
  HostPool source(layout, 64, MemoryFrom(*transport));
  ASSERT_OK_AND_ASSIGN(auto stream,
                       transport->StartWrite(target, {source.data(), 64, layout, blocks},
                                             absl::Now() + absl::Seconds(20)));
  testing::StatusWaiter first;
  stream->WriteLayer(0, first.Callback());
  EXPECT_THAT(first.Wait(), IsOk());
  std::vector<testing::StatusWaiter> rest(layout.num_layers);
  for (int32_t layer = 1; layer < 4; ++layer) stream->WriteLayer(layer, rest[layer].Callback());
  stream->Cancel();
  for (int32_t layer = 4; layer < layout.num_layers; ++layer) {
    stream->WriteLayer(layer, rest[layer].Callback());
  }
  testing::StatusWaiter finish;
  stream->Finish(Completion{1}, finish.Callback());
  EXPECT_THAT(finish.Wait(), StatusIs(absl::StatusCode::kAborted));
  for (int32_t layer = 4; layer < layout.num_layers; ++layer) {
    EXPECT_THAT(rest[layer].Wait(), StatusIs(absl::StatusCode::kAborted));
  }
  EXPECT_EQ(peer->ReadLineStartingWith("DONE", absl::Seconds(20)), "DONE 9 ABORTED -1");
  // DONE comes with the abort message; receives the cancelled sender had started may end (with
  // an error) a little later, and the transfer holds its blocks until they have.
  ASSERT_TRUE(peer->WriteLine("SETTLED 15000"));
  EXPECT_EQ(peer->ReadLineStartingWith("STATS", absl::Seconds(20)), "STATS 1 0 0");
  EXPECT_EQ(peer->CloseAndWait(), 0);
  ExpectIdle(*transport);
}

TEST_P(UcxCrossProcessTest, SenderKilledMidTransferNeverCompletesAndLeaksNothing) {
  const engine::KvLayout layout = testing::OneBLayout();
  auto transport = MakeTransport();
  ASSERT_TRUE(transport);
  HostPool pool(layout, 64, MemoryFrom(*transport));
  {
    ASSERT_OK_AND_ASSIGN(auto receiver, transport->CreateReceiver(pool.data(), 64, layout));
    std::vector<int32_t> blocks;
    for (int32_t b = 0; b < 64; ++b) blocks.push_back(b);
    testing::ReceiveWaiter received;
    const testing::Stopwatch stopwatch;
    const absl::Time deadline = absl::Now() + absl::Seconds(3);
    ASSERT_OK_AND_ASSIGN(KvTarget target, receiver->ExpectTransfer(42, blocks, {deadline, false},
                                                                   received.Callback()));
    auto sender = StartPeer("sender");
    ASSERT_TRUE(sender);
    ASSERT_TRUE(sender->WriteLine(
        absl::StrCat("WRITE 3 ", absl::StrJoin(blocks, ","), " ", testing::TargetToLine(target))));
    absl::SleepFor(absl::Milliseconds(30));  // Somewhere in the 32 MiB transfer, or done.
    sender->Kill();
    absl::StatusOr<ReceiveResult> result = received.Wait(absl::Seconds(10));
    // Either the whole transfer made it before the kill, or it must not be reported complete.
    if (result.ok()) {
      for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
        ASSERT_TRUE(pool.SlabHasPattern(layer, 63, 3, 63));
      }
    } else {
      EXPECT_THAT(result.status(), StatusIs(absl::StatusCode::kDeadlineExceeded));
      EXPECT_LT(stopwatch.Elapsed(), absl::Seconds(3 + 1));
    }
    EXPECT_EQ(transport->Stats().receiving_transfers, 0);
    EXPECT_EQ(transport->Stats().landings_in_flight, 0);
  }
  ExpectIdle(*transport);
}

INSTANTIATE_TEST_SUITE_P(Loopback, UcxCrossProcessTest,
                         ::testing::Values(Wire{"tcp", "tcp", "am"}, Wire{"shm", "posix,cma", "am"},
                                           Wire{"shm_put", "posix,cma", "put"},
                                           Wire{"posix_put", "posix", "put"},
                                           Wire{"shm_auto", "posix,cma", "auto"},
                                           Wire{"shm_auto_pool", "posix,cma", "auto", "transport"},
                                           Wire{"tcp_pool", "tcp", "auto", "transport"}),
                         testing::WireName);

}  // namespace
}  // namespace baton::kvtransfer
