// Test peer for the cross-process UCX tests and for kv_bench's receiving side: one process
// holding a UcxKvTransport, driven by lines on stdin, answering on stdout.
//
//   ucx_peer --role=sender --tls=tcp [--write_mode=auto|am|put] [--die_at=<point>]
//     stdin:  WRITE <seed> <source blocks, comma separated> <KvTarget line (kv_pattern.h)>
//     stdout: RESULT <absl status code name> after Finish's done (first token = seed)
//     --die_at kills the sender (SIGKILL, as a crash) at a point of its first WRITE: start (just
//     after StartWrite), layer<N> (layers 0..N issued, N still in flight), finish (Finish issued);
//     <point>+<microseconds> dies that long after the point.
//   ucx_peer --role=receiver --tls=tcp --blocks=64
//     stdin:  EXPECT <transfer id> <blocks, comma separated> <deadline ms> <checksum 0|1>
//     stdout: TARGET <KvTarget line>, later DONE <transfer id> <status code name> <first token>
//     stdin:  VERIFY <transfer id> <seed> <source blocks>  ->  VERIFIED <ok|bad>
//             STATS  ->  STATS <live registrations> <receiving transfers> <landings>
//             SETTLED <timeout ms>  ->  STATS ... once no transfer is receiving and nothing is
//             landing (an aborted transfer's receives may still end after its DONE), or at timeout
// Both roles exit at end of input. Single-threaded apart from the transport's callbacks, which
// print under a lock.
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "kvtransfer/testing/kv_pattern.h"
#include "kvtransfer/testing/waiters.h"
#include "kvtransfer/ucx/ucx_kv_transport.h"

ABSL_FLAG(std::string, role, "receiver", "sender or receiver");
ABSL_FLAG(std::string, tls, "tcp", "UCX_TLS for this process");
ABSL_FLAG(int32_t, blocks, 64, "receiver: pool size in blocks (1B-shape layout)");
ABSL_FLAG(std::string, write_mode, "auto", "UcxKvTransport write mode: auto, am or put");
ABSL_FLAG(int32_t, put_quarantine_ms, 2000, "receiver: put-writer quarantine");
ABSL_FLAG(std::string, pool_memory, "transport",
          "where pools live: transport (UcxKvTransport::AllocatePoolMemory) or mmap");
ABSL_FLAG(int32_t, spin_us, 200, "progress thread: polling time after activity before sleeping");
ABSL_FLAG(std::string, die_at, "",
          "sender: where to kill itself (start, layer<N>, finish, each optionally +<us>); empty: "
          "never");

namespace baton::kvtransfer {
namespace {

absl::Mutex out_mu;

void Say(const std::string& line) {
  absl::MutexLock lock(&out_mu);
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

std::vector<int32_t> ParseBlocks(absl::string_view csv) {
  std::vector<int32_t> blocks;
  for (absl::string_view b : absl::StrSplit(csv, ',')) {
    int32_t v = 0;
    if (absl::SimpleAtoi(b, &v)) blocks.push_back(v);
  }
  return blocks;
}

// The transport whose memory pools use (null: anonymous mmap), per --pool_memory.
KvTransport* PoolMemoryFrom(KvTransport& transport) {
  return absl::GetFlag(FLAGS_pool_memory) == "mmap" ? nullptr : &transport;
}

// Kills this process (as a crash would) when --die_at names `point`: at once for "<point>", after
// that many microseconds for "<point>+<us>".
void MaybeDieAt(absl::string_view point) {
  const std::string die_at = absl::GetFlag(FLAGS_die_at);
  absl::string_view rest = die_at;
  if (!absl::ConsumePrefix(&rest, point)) return;
  int64_t delay_us = 0;
  if (!rest.empty() && !(absl::ConsumePrefix(&rest, "+") && absl::SimpleAtoi(rest, &delay_us))) {
    return;  // Another point that starts with this one's name ("layer1" vs "layer10").
  }
  absl::SleepFor(absl::Microseconds(delay_us));
  raise(SIGKILL);
}

int RunSender(KvTransport& transport) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
    if (parts.size() != 4 || parts[0] != "WRITE") continue;
    uint64_t seed = 0;
    absl::SimpleAtoi(parts[1], &seed);
    std::vector<int32_t> src_blocks = ParseBlocks(parts[2]);
    absl::StatusOr<KvTarget> target = testing::TargetFromLine(parts[3]);
    if (!target.ok()) {
      Say(absl::StrCat("RESULT ", absl::StatusCodeToString(target.status().code())));
      continue;
    }
    int32_t max_block = 0;
    for (int32_t b : src_blocks) max_block = std::max(max_block, b);
    testing::HostPool pool(target->layout, max_block + 1, PoolMemoryFrom(transport));
    pool.FillPattern(src_blocks, seed);
    auto stream =
        transport.StartWrite(*target, {pool.data(), max_block + 1, target->layout, src_blocks},
                             absl::Now() + absl::Seconds(20));
    if (!stream.ok()) {
      Say(absl::StrCat("RESULT ", absl::StatusCodeToString(stream.status().code())));
      continue;
    }
    MaybeDieAt("start");
    std::vector<testing::StatusWaiter> layers(target->layout.num_layers);
    for (int32_t layer = 0; layer < target->layout.num_layers; ++layer) {
      (*stream)->WriteLayer(layer, layers[layer].Callback());
      MaybeDieAt(absl::StrCat("layer", layer));
    }
    testing::StatusWaiter finish;
    (*stream)->Finish(Completion{static_cast<int32_t>(seed)}, finish.Callback());
    MaybeDieAt("finish");
    absl::Status status = finish.Wait(absl::Seconds(30));
    for (auto& waiter : layers) (void)waiter.Wait(absl::Seconds(30));  // Pool outlives writes.
    Say(absl::StrCat("RESULT ", absl::StatusCodeToString(status.code())));
  }
  return 0;
}

int RunReceiver(KvTransport& transport) {
  const engine::KvLayout layout = testing::OneBLayout();
  const int32_t num_blocks = absl::GetFlag(FLAGS_blocks);
  testing::HostPool pool(layout, num_blocks, PoolMemoryFrom(transport));
  auto receiver = transport.CreateReceiver(pool.data(), num_blocks, layout);
  CHECK_OK(receiver.status());
  absl::flat_hash_map<TransferId, std::vector<int32_t>> expected;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.empty()) continue;
    if (f[0] == "EXPECT" && f.size() == 5) {
      TransferId id = 0;
      int64_t deadline_ms = 0;
      absl::SimpleAtoi(f[1], &id);
      absl::SimpleAtoi(f[3], &deadline_ms);
      std::vector<int32_t> blocks = ParseBlocks(f[2]);
      expected[id] = blocks;
      auto target = (*receiver)->ExpectTransfer(
          id, blocks, {absl::Now() + absl::Milliseconds(deadline_ms), f[4] == "1"},
          [id](absl::StatusOr<ReceiveResult> result) {
            Say(absl::StrCat("DONE ", id, " ", absl::StatusCodeToString(result.status().code()),
                             " ", result.ok() ? result->completion.first_token : -1));
          });
      Say(target.ok() ? absl::StrCat("TARGET ", testing::TargetToLine(*target))
                      : absl::StrCat("ERROR ", target.status().ToString()));
    } else if (f[0] == "VERIFY" && f.size() == 4) {
      TransferId id = 0;
      uint64_t seed = 0;
      absl::SimpleAtoi(f[1], &id);
      absl::SimpleAtoi(f[2], &seed);
      std::vector<int32_t> src = ParseBlocks(f[3]);
      const std::vector<int32_t>& dst = expected[id];
      bool ok = src.size() == dst.size();
      for (int32_t layer = 0; ok && layer < layout.num_layers; ++layer) {
        for (size_t i = 0; ok && i < dst.size(); ++i) {
          ok = pool.SlabHasPattern(layer, dst[i], seed, src[i]);
        }
      }
      Say(absl::StrCat("VERIFIED ", ok ? "ok" : "bad"));
    } else if (f[0] == "STATS" || (f[0] == "SETTLED" && f.size() == 2)) {
      int64_t timeout_ms = 0;
      if (f[0] == "SETTLED") absl::SimpleAtoi(f[1], &timeout_ms);
      const absl::Time asked = absl::Now();
      const absl::Time settle_by = asked + absl::Milliseconds(timeout_ms);
      TransportStats stats = transport.Stats();
      while ((stats.receiving_transfers != 0 || stats.landings_in_flight != 0) &&
             absl::Now() < settle_by) {
        absl::SleepFor(absl::Milliseconds(5));
        stats = transport.Stats();
      }
      if (f[0] == "SETTLED") {
        std::fprintf(stderr, "ucx_peer: settled %s after %lld ms\n",
                     stats.receiving_transfers == 0 && stats.landings_in_flight == 0 ? "" : "NOT",
                     static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - asked)));
      }
      Say(absl::StrCat("STATS ", stats.live_registrations, " ", stats.receiving_transfers, " ",
                       stats.landings_in_flight));
    }
  }
  receiver->reset();
  return 0;
}

}  // namespace
}  // namespace baton::kvtransfer

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  baton::kvtransfer::UcxKvTransport::Options options;
  options.ucx_config = {{"TLS", absl::GetFlag(FLAGS_tls)}, {"NET_DEVICES", "lo"}};
  options.spin_before_sleep = absl::Microseconds(absl::GetFlag(FLAGS_spin_us));
  options.put_quarantine = absl::Milliseconds(absl::GetFlag(FLAGS_put_quarantine_ms));
  using WriteMode = baton::kvtransfer::UcxKvTransport::Options::WriteMode;
  const std::string mode = absl::GetFlag(FLAGS_write_mode);
  if (mode == "auto") {
    options.write_mode = WriteMode::kAuto;
  } else if (mode == "am") {
    options.write_mode = WriteMode::kActiveMessage;
  } else if (mode == "put") {
    options.write_mode = WriteMode::kPut;
  } else {
    std::fprintf(stderr, "ucx_peer: --write_mode must be auto, am or put\n");
    return 1;
  }
  auto transport = baton::kvtransfer::UcxKvTransport::Create(options);
  if (!transport.ok()) {
    std::fprintf(stderr, "ucx_peer: %s\n", transport.status().ToString().c_str());
    return 1;
  }
  return absl::GetFlag(FLAGS_role) == "sender" ? baton::kvtransfer::RunSender(**transport)
                                               : baton::kvtransfer::RunReceiver(**transport);
}
