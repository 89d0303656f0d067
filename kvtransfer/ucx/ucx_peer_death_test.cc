// A worker must not die because a peer did. ucx_peer senders kill themselves (SIGKILL, as a crash)
// at points of connection setup and transfer while this process receives from them; it must stay
// up, report every transfer that did not finish as failed by its deadline, hold no transfer
// afterwards, and take a healthy transfer into the same blocks.
//
// The last holds where endpoints detect peer failure (any UCX_TLS with tcp, the default "all"
// included: the transport then keeps shared memory out of the message path). With only
// shared-memory transports configured it cannot: a sender killed while writing into the
// receiver's shared-memory queue leaves a slot that is never completed, and UCX 1.13 reads nothing
// after it again. Those wires check the rest.
//
// The deaths during connection setup are the ones that aborted receivers inside Debian's UCX 1.13
// (an assertion on a wireup reply left queued for the dead peer; scripts/setup_ucx.sh): they are
// timing races, so each point is run in several rounds, all senders of a round at once.
#include <sys/wait.h>

#include <csignal>
#include <memory>
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
#include "kvtransfer/ucx/ucx_settings.h"

namespace baton::kvtransfer {
namespace {

using ::baton::testing::IsOk;
using testing::ChildProcess;
using testing::HostPool;
using testing::Wire;

class UcxPeerDeathTest : public testing::UcxCrossProcessFixture {};

// ucx_peer --die_at points. The endpoint is created at StartWrite (put and auto modes) or at the
// first layer (active messages); the deaths microseconds after either land in its wireup (100 ms:
// wired, no data yet). Then layers issued and in flight, and Finish issued.
const std::vector<std::string>& DeathPoints() {
  static const auto* points = new std::vector<std::string>{
      "start",       "start+100",   "start+300",   "start+1000",  "start+100000", "layer0",
      "layer0+50",   "layer0+100",  "layer0+200",  "layer0+400",  "layer0+800",   "layer0+1600",
      "layer0+5000", "layer7",      "layer15",     "finish"};
  return *points;
}

constexpr int32_t kBlocksPerSender = 4;
constexpr int kRounds = 3;

std::vector<int32_t> BlocksOf(size_t sender) {
  std::vector<int32_t> blocks;
  for (int32_t b = 0; b < kBlocksPerSender; ++b) {
    blocks.push_back(static_cast<int32_t>(sender) * kBlocksPerSender + b);
  }
  return blocks;
}

TEST_P(UcxPeerDeathTest, ReceiverSurvivesSendersDyingAtEveryStage) {
  const engine::KvLayout layout = testing::OneBLayout();
  auto transport = MakeTransport();
  ASSERT_TRUE(transport);
  HostPool pool(layout, 64, MemoryFrom(*transport));
  ASSERT_OK_AND_ASSIGN(auto receiver, transport->CreateReceiver(pool.data(), 64, layout));
  const std::vector<std::string>& points = DeathPoints();
  ASSERT_LE(points.size() * kBlocksPerSender, 64u);  // Disjoint blocks, one pool.

  for (int round = 0; round < kRounds; ++round) {
    const testing::Stopwatch stopwatch;
    const absl::Time deadline = absl::Now() + absl::Seconds(3);
    std::vector<testing::ReceiveWaiter> received(points.size());
    std::vector<std::unique_ptr<ChildProcess>> senders;
    for (size_t i = 0; i < points.size(); ++i) {
      const TransferId id = 1000 * (round + 1) + i;
      ASSERT_OK_AND_ASSIGN(KvTarget target, receiver->ExpectTransfer(id, BlocksOf(i),
                                                                     {deadline, false},
                                                                     received[i].Callback()));
      senders.push_back(StartPeer("sender", {"--die_at=" + points[i]}));
      ASSERT_TRUE(senders.back());
      ASSERT_TRUE(senders.back()->WriteLine(absl::StrCat(
          "WRITE ", id, " ", absl::StrJoin(BlocksOf(i), ","), " ", testing::TargetToLine(target))));
    }
    for (size_t i = 0; i < points.size(); ++i) {
      SCOPED_TRACE(absl::StrCat("round ", round, ", sender died at ", points[i]));
      const int status = senders[i]->CloseAndWait();
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;
      absl::StatusOr<ReceiveResult> result = received[i].Wait(absl::Seconds(20));
      if (result.ok()) {
        // Only a sender that issued Finish can have completed; then every byte is there.
        EXPECT_EQ(points[i], "finish");
        for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
          for (int32_t b : BlocksOf(i)) {
            ASSERT_TRUE(pool.SlabHasPattern(layer, b, 1000 * (round + 1) + i, b));
          }
        }
      } else {
        EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
        EXPECT_LT(stopwatch.Elapsed(), absl::Seconds(3 + 2));
      }
    }
    EXPECT_EQ(transport->Stats().receiving_transfers, 0);
    EXPECT_EQ(transport->Stats().landings_in_flight, 0);
  }

  if (!TlsAllows(GetParam().tls, "tcp")) {
    receiver.reset();
    EXPECT_THAT(testing::WaitUntilIdle(*transport), IsOk());
    return;  // Shared memory only: see the top of the file.
  }
  // Still serving: a healthy sender fills every block the dead ones were writing.
  std::vector<int32_t> all;
  for (size_t i = 0; i < points.size(); ++i) {
    for (int32_t b : BlocksOf(i)) all.push_back(b);
  }
  testing::ReceiveWaiter received;
  ASSERT_OK_AND_ASSIGN(KvTarget target,
                       receiver->ExpectTransfer(7, all, {absl::Now() + absl::Seconds(30), true},
                                                received.Callback()));
  auto healthy = StartPeer("sender");
  ASSERT_TRUE(healthy);
  ASSERT_TRUE(healthy->WriteLine(
      absl::StrCat("WRITE 77 ", absl::StrJoin(all, ","), " ", testing::TargetToLine(target))));
  EXPECT_EQ(healthy->ReadLineStartingWith("RESULT", absl::Seconds(30)), "RESULT OK");
  absl::StatusOr<ReceiveResult> result = received.Wait(absl::Seconds(30));
  ASSERT_THAT(result.status(), IsOk());
  for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
    for (int32_t b : all) ASSERT_TRUE(pool.SlabHasPattern(layer, b, 77, b)) << layer << " " << b;
  }
  EXPECT_EQ(healthy->CloseAndWait(), 0);
  receiver.reset();
  EXPECT_THAT(testing::WaitUntilIdle(*transport), IsOk());
}

INSTANTIATE_TEST_SUITE_P(Loopback, UcxPeerDeathTest,
                         ::testing::Values(Wire{"tcp", "tcp", "am"},
                                           Wire{"tcp_pool", "tcp", "auto", "transport"},
                                           Wire{"all_pool", "all", "auto", "transport"},
                                           Wire{"shm", "posix,cma", "am"},
                                           Wire{"shm_auto_pool", "posix,cma", "auto", "transport"}),
                         testing::WireName);

}  // namespace
}  // namespace baton::kvtransfer
