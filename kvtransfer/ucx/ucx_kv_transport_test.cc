#include "kvtransfer/ucx/ucx_kv_transport.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "kvtransfer/testing/kv_pattern.h"
#include "kvtransfer/testing/transport_conformance.h"
#include "kvtransfer/testing/waiters.h"
#include "kvtransfer/ucx/ucx_status.h"

namespace baton::kvtransfer {
namespace {

using ::baton::testing::IsOk;
using ::baton::testing::StatusIs;
using testing::KvTransportConformanceTest;
using testing::ReceiveWaiter;
using testing::TransportFactory;

using WriteMode = UcxKvTransport::Options::WriteMode;

UcxKvTransport::Options UcxOptions(const std::string& tls, WriteMode mode) {
  UcxKvTransport::Options options;
  options.ucx_config = {{"TLS", tls}, {"NET_DEVICES", "lo"}};
  options.write_mode = mode;
  return options;
}

// `put_fragment_bytes` 0: the default.
TransportFactory Ucx(const std::string& name, const std::string& tls, WriteMode mode,
                     bool pool_memory_from_transport = false, size_t put_fragment_bytes = 0) {
  return TransportFactory{
      name,
      [tls, mode, put_fragment_bytes]() -> absl::StatusOr<std::unique_ptr<KvTransport>> {
        UcxKvTransport::Options options = UcxOptions(tls, mode);
        if (put_fragment_bytes > 0) {
          options.put_fragment_bytes = put_fragment_bytes;
        }
        auto transport = UcxKvTransport::Create(options);
        if (!transport.ok()) return transport.status();
        return std::unique_ptr<KvTransport>(std::move(*transport));
      },
      pool_memory_from_transport};
}

// Active messages on every wire; RMA put on the shared-memory ones; kAuto, which picks put where
// the pool is mapped into the sender (the *_pool cases: pools from AllocatePoolMemory) and AM on
// tcp and into ordinary memory over cma.
INSTANTIATE_TEST_SUITE_P(
    Ucx, KvTransportConformanceTest,
    ::testing::Values(
        Ucx("tcp", "tcp", WriteMode::kActiveMessage),
        Ucx("shm", "posix,cma", WriteMode::kActiveMessage),
        Ucx("sysv", "sysv", WriteMode::kActiveMessage), Ucx("tcp_auto", "tcp", WriteMode::kAuto),
        Ucx("shm_put", "posix,cma", WriteMode::kPut), Ucx("sysv_put", "sysv", WriteMode::kPut),
        Ucx("posix_put", "posix", WriteMode::kPut), Ucx("shm_auto", "posix,cma", WriteMode::kAuto),
        Ucx("tcp_pool", "tcp", WriteMode::kAuto, true),
        Ucx("shm_auto_pool", "posix,cma", WriteMode::kAuto, true),
        Ucx("sysv_auto_pool", "sysv", WriteMode::kAuto, true),
        Ucx("shm_am_pool", "posix,cma", WriteMode::kActiveMessage, true),
        // Runs put in several pieces.
        Ucx("shm_auto_pool_fragments", "posix,cma", WriteMode::kAuto, true, 64),
        Ucx("all_auto_pool", "all", WriteMode::kAuto, true)),
    testing::FactoryName);

// Put mode: the receiver cannot refuse bytes, so an aborted transfer's blocks must stay taken until
// the writer has stopped. The sender's progress thread is held inside a layer callback (a stuck
// writer); the receiver's abort must not be reported until the writer is released and has reported
// that it stopped, well before the (long) quarantine. With active messages (kAuto on tcp) the
// receiver refuses bytes itself and reports the abort at once.
struct HeldAbortCase {
  std::string name;
  std::string tls;
  WriteMode mode;
  bool puts;  // Whether this case writes with RMA put.
  bool pool_memory_from_transport = false;
};

class UcxHeldAbortTest : public ::testing::TestWithParam<HeldAbortCase> {};

TEST_P(UcxHeldAbortTest, AbortedTransferKeepsItsBlocksUntilTheWriterStopped) {
  const engine::KvLayout layout = testing::OneBLayout();
  UcxKvTransport::Options receiving_options = UcxOptions(GetParam().tls, GetParam().mode);
  receiving_options.put_quarantine = absl::Seconds(20);
  ASSERT_OK_AND_ASSIGN(auto receiving, UcxKvTransport::Create(receiving_options));
  ASSERT_OK_AND_ASSIGN(auto sending,
                       UcxKvTransport::Create(UcxOptions(GetParam().tls, GetParam().mode)));
  const bool from_transport = GetParam().pool_memory_from_transport;
  testing::HostPool dst(layout, 8, from_transport ? receiving.get() : nullptr);
  testing::HostPool src(layout, 8, from_transport ? sending.get() : nullptr);
  src.FillPattern({0, 1, 2, 3}, 5);
  {
    ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 8, layout));
    testing::ReceiveWaiter received;
    ASSERT_OK_AND_ASSIGN(KvTarget target, receiver->ExpectTransfer(
                                              3, {4, 5, 6, 7}, {absl::Now() + absl::Seconds(30)},
                                              received.Callback()));
    ASSERT_EQ(target.remote_keys.size(), 1u);
    ASSERT_OK_AND_ASSIGN(auto stream,
                         sending->StartWrite(target, {src.data(), 8, layout, {0, 1, 2, 3}},
                                             absl::Now() + absl::Seconds(30)));
    absl::Notification in_callback, release;
    stream->WriteLayer(0, [&](absl::Status status) {
      EXPECT_TRUE(status.ok()) << status;
      in_callback.Notify();
      release.WaitForNotification();  // Holds the sender's progress thread.
    });
    ASSERT_TRUE(in_callback.WaitForNotificationWithTimeout(absl::Seconds(10)));
    receiver->Abort(3);
    if (GetParam().puts) {
      EXPECT_TRUE(dst.SlabHasPattern(0, 4, 5, 0));  // Put, flushed and announced before done.
      absl::SleepFor(absl::Milliseconds(300));
      EXPECT_EQ(received.calls(), 0) << "blocks released while the writer may still write";
      ReceiveWaiter unused;
      EXPECT_THAT(receiver->ExpectTransfer(9, {4}, {}, unused.Callback()).status(),
                  StatusIs(absl::StatusCode::kFailedPrecondition));
      const absl::Time released = absl::Now();
      release.Notify();
      EXPECT_THAT(received.Wait(absl::Seconds(10)).status(), StatusIs(absl::StatusCode::kAborted));
      EXPECT_LT(absl::Now() - released, absl::Seconds(5))
          << "waited for the quarantine, not for the writer";
    } else {
      EXPECT_THAT(received.Wait(absl::Seconds(5)).status(), StatusIs(absl::StatusCode::kAborted));
      release.Notify();
    }
    // A put writer was stopped by the receiver (kAborted); an AM stream learns nothing until it
    // sends again, and Finish without every layer is its own error.
    testing::StatusWaiter finish;
    stream->Finish(Completion{1}, finish.Callback());
    const absl::Status finished = finish.Wait();
    if (GetParam().puts) {
      EXPECT_THAT(finished, StatusIs(absl::StatusCode::kAborted));
    } else {
      EXPECT_FALSE(finished.ok());
    }
  }
  EXPECT_THAT(testing::WaitUntilIdle(*receiving), ::baton::testing::IsOk());
  EXPECT_THAT(testing::WaitUntilIdle(*sending), ::baton::testing::IsOk());
}

INSTANTIATE_TEST_SUITE_P(
    Ucx, UcxHeldAbortTest,
    ::testing::Values(HeldAbortCase{"shm_put", "posix,cma", WriteMode::kPut, true},
                      HeldAbortCase{"sysv_put", "sysv", WriteMode::kPut, true},
                      // kAuto puts into a pool mapped into the sender (memory from
                      // AllocatePoolMemory, shared on one host), not over cma into ordinary memory,
                      // nor over tcp.
                      HeldAbortCase{"shm_auto_pool", "posix,cma", WriteMode::kAuto, true, true},
                      HeldAbortCase{"sysv_auto_pool", "sysv", WriteMode::kAuto, true, true},
                      HeldAbortCase{"shm_auto", "posix,cma", WriteMode::kAuto, false},
                      HeldAbortCase{"tcp_auto_pool", "tcp", WriteMode::kAuto, false, true},
                      // UCX's default transport set: the endpoints ask for peer-failure
                      // detection even on one host, so tcp carries the messages (shared-memory
                      // queues are not crash-safe: ucx_transport_impl.cc), and kAuto copies into
                      // the pool through the writer's own mapping of it.
                      HeldAbortCase{"all_auto_pool", "all", WriteMode::kAuto, true, true}),
    [](const ::testing::TestParamInfo<HeldAbortCase>& info) { return info.param.name; });

// A writer that never reports back (stuck, or dead where UCX cannot tell) costs the quarantine, not
// the blocks forever.
TEST(UcxPutModeTest, SilentWriterIsReleasedAfterTheQuarantine) {
  const engine::KvLayout layout = testing::OneBLayout();
  UcxKvTransport::Options receiving_options = UcxOptions("posix,cma", WriteMode::kPut);
  receiving_options.put_quarantine = absl::Milliseconds(400);
  ASSERT_OK_AND_ASSIGN(auto receiving, UcxKvTransport::Create(receiving_options));
  ASSERT_OK_AND_ASSIGN(auto sending,
                       UcxKvTransport::Create(UcxOptions("posix,cma", WriteMode::kPut)));
  testing::HostPool dst(layout, 4), src(layout, 4);
  absl::Notification release;
  {
    ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 4, layout));
    testing::ReceiveWaiter received;
    ASSERT_OK_AND_ASSIGN(KvTarget target,
                         receiver->ExpectTransfer(4, {0, 1}, {absl::Now() + absl::Seconds(30)},
                                                  received.Callback()));
    ASSERT_OK_AND_ASSIGN(auto stream, sending->StartWrite(target, {src.data(), 4, layout, {0, 1}},
                                                          absl::Now() + absl::Seconds(30)));
    absl::Notification in_callback;
    stream->WriteLayer(0, [&](absl::Status) {
      in_callback.Notify();
      release.WaitForNotification();
    });
    ASSERT_TRUE(in_callback.WaitForNotificationWithTimeout(absl::Seconds(10)));
    const absl::Time aborted = absl::Now();
    receiver->Abort(4);
    EXPECT_THAT(received.Wait(absl::Seconds(10)).status(), StatusIs(absl::StatusCode::kAborted));
    EXPECT_GE(absl::Now() - aborted, absl::Milliseconds(380));
    release.Notify();
    stream->Cancel();
  }
  EXPECT_THAT(testing::WaitUntilIdle(*sending), ::baton::testing::IsOk());
}

// kAuto keeps active messages on tcp (UCX emulates put there, ~100x slower) and an active-message
// receiver publishes no rkey.
TEST(UcxPutModeTest, ActiveMessageReceiverPublishesNoKey) {
  const engine::KvLayout layout = testing::OneBLayout();
  ASSERT_OK_AND_ASSIGN(auto am,
                       UcxKvTransport::Create(UcxOptions("tcp", WriteMode::kActiveMessage)));
  ASSERT_OK_AND_ASSIGN(auto put, UcxKvTransport::Create(UcxOptions("posix,cma", WriteMode::kAuto)));
  testing::HostPool pool(layout, 2);
  {
    ASSERT_OK_AND_ASSIGN(auto receiver, am->CreateReceiver(pool.data(), 2, layout));
    ReceiveWaiter unused;
    ASSERT_OK_AND_ASSIGN(KvTarget target, receiver->ExpectTransfer(1, {0}, {}, unused.Callback()));
    EXPECT_TRUE(target.remote_keys.empty());
  }
  {
    ASSERT_OK_AND_ASSIGN(auto receiver, put->CreateReceiver(pool.data(), 2, layout));
    ReceiveWaiter unused;
    ASSERT_OK_AND_ASSIGN(KvTarget target, receiver->ExpectTransfer(1, {0}, {}, unused.Callback()));
    EXPECT_EQ(target.remote_keys.size(), 1u);
  }
}

TEST(UcxKvTransportTest, BadUcxSettingIsInvalidArgument) {
  UcxKvTransport::Options options;
  options.ucx_config = {{"RNDV_THRESH", "not-a-size"}};
  EXPECT_THAT(UcxKvTransport::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Seconds the process's other threads (not the caller) spent runnable: on a CPU or waiting in
// the run queue for one (/proc/self/task/*/schedstat). A polling thread is runnable all the time
// however busy the machine is, a sleeping one not at all, so unlike CPU time this tells them
// apart on a loaded machine too.
double OtherThreadsRunnableSeconds() {
  const std::string self = std::to_string(static_cast<long>(syscall(SYS_gettid)));
  double seconds = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    if (task.path().filename() == self) continue;
    std::ifstream schedstat(task.path() / "schedstat");
    uint64_t on_cpu_ns = 0, waiting_ns = 0;
    if (schedstat >> on_cpu_ns >> waiting_ns) seconds += (on_cpu_ns + waiting_ns) * 1e-9;
  }
  return seconds;
}

// The progress thread must sleep on the worker's event fd when there is nothing to do: on two
// cores a busy-polling idle worker would halve everyone else's speed.
TEST(UcxKvTransportTest, IdleTransportsBurnNoCpu) {
  for (const std::string tls : {"tcp", "posix,cma", "sysv"}) {
    UcxKvTransport::Options options;
    options.ucx_config = {{"TLS", tls}, {"NET_DEVICES", "lo"}};
    auto transport = UcxKvTransport::Create(options);
    ASSERT_TRUE(transport.ok()) << transport.status();
    absl::SleepFor(absl::Milliseconds(50));  // Let start-up work settle.
    const double before = OtherThreadsRunnableSeconds();
    absl::SleepFor(absl::Milliseconds(500));
    const double used = OtherThreadsRunnableSeconds() - before;
    EXPECT_LT(used, 0.05) << tls << ": an idle transport was runnable " << used << " s in 0.5 s";
  }
}

// A receiver expecting a transfer polls for poll_after_expect (so the sender's first message finds
// it awake), then sleeps again.
TEST(UcxKvTransportTest, ReceiverPollsAfterExpectThenSleeps) {
  UcxKvTransport::Options options;
  options.ucx_config = {{"TLS", "posix"}};
  options.poll_after_expect = absl::Milliseconds(200);
  ASSERT_OK_AND_ASSIGN(auto transport, UcxKvTransport::Create(options));
  const engine::KvLayout layout = testing::OneBLayout();
  testing::HostPool pool(layout, 4);
  ASSERT_OK_AND_ASSIGN(auto receiver, transport->CreateReceiver(pool.data(), 4, layout));
  absl::SleepFor(absl::Milliseconds(50));
  double before = OtherThreadsRunnableSeconds();
  ReceiveWaiter received;
  ASSERT_OK_AND_ASSIGN(
      KvTarget target,
      receiver->ExpectTransfer(1, {0, 1}, {absl::Now() + absl::Seconds(5)}, received.Callback()));
  absl::SleepFor(absl::Milliseconds(300));
  const double polling = OtherThreadsRunnableSeconds() - before;
  // Polling keeps the progress thread runnable for the 200 ms; sleeping costs ~nothing.
  EXPECT_GT(polling, 0.15) << "the progress thread did not poll after ExpectTransfer";
  before = OtherThreadsRunnableSeconds();
  absl::SleepFor(absl::Milliseconds(300));
  const double after = OtherThreadsRunnableSeconds() - before;
  EXPECT_LT(after, 0.03) << "the progress thread kept polling after poll_after_expect";
  receiver->Abort(1);
  EXPECT_THAT(received.Wait().status(), StatusIs(absl::StatusCode::kAborted));
}

TEST(UcsToStatusTest, MapsPeerFailuresToUnavailable) {
  EXPECT_TRUE(UcsToStatus(UCS_OK, "x").ok());
  EXPECT_THAT(UcsToStatus(UCS_ERR_UNREACHABLE, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(UcsToStatus(UCS_ERR_CONNECTION_RESET, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(UcsToStatus(UCS_ERR_ENDPOINT_TIMEOUT, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(UcsToStatus(UCS_ERR_CANCELED, "x"), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(UcsToStatus(UCS_ERR_TIMED_OUT, "x"), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(UcsToStatus(UCS_ERR_NO_MEMORY, "x"), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(UcsToStatus(UCS_ERR_INVALID_PARAM, "ucp_x"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("ucp_x")));
}

}  // namespace
}  // namespace baton::kvtransfer
