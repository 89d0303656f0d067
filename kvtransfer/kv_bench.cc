// kv_bench: moves the KV of the 1B-shape model (16 layers x 8 KV heads x 64 head_dim, F16,
// 16-token blocks: 32 KiB per token) between two processes on loopback with UcxKvTransport,
// layer by layer as a prefill worker would, for each UCX transport, write mode, pool memory and
// prompt length; then runs ucx_perftest the same way (same UCX_TLS, both sizes: the whole KV as
// one message and one run; tag_bw for active messages, ucp_put_bw for put, the better of both
// for auto) and prints both side by side as a Markdown table. Each case has --perftest_runs
// rounds: --iterations transfers, then one perftest run per size; ratios are per round.
//
//   bazel run -c opt //kvtransfer:kv_bench -- --tls='tcp;posix;sysv;cma,posix' --modes=am,auto,put
//
// The receiving side is //kvtransfer/ucx:ucx_peer in a child process; this process sends.
// Bandwidth = KV bytes / (first WriteLayer -> Finish done, i.e. everything flushed to the
// receiver). Per-layer latency = WriteLayer -> its done, one layer at a time.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "kvtransfer/testing/child_process.h"
#include "kvtransfer/testing/kv_pattern.h"
#include "kvtransfer/testing/waiters.h"
#include "kvtransfer/ucx/ucx_kv_transport.h"

ABSL_FLAG(std::string, tls, "tcp;posix;sysv;cma,posix", "UCX_TLS values, ';'-separated");
ABSL_FLAG(std::string, prompts, "512,2048", "prompt lengths in tokens");
ABSL_FLAG(int32_t, iterations, 10, "timed transfers per case (after 2 warm-up ones)");
ABSL_FLAG(std::string, peer, "", "path of ucx_peer (default: next to this binary's runfiles)");
ABSL_FLAG(bool, perftest, true, "also run ucx_perftest (tag_bw / ucp_put_bw) for comparison");
ABSL_FLAG(int32_t, max_run_blocks, 256, "largest message, in 32 KiB blocks");
ABSL_FLAG(int32_t, put_fragment_kib, 256, "put mode: largest single put (KiB)");
ABSL_FLAG(std::string, modes, "am,put",
          "write modes (am, put, auto), ','-separated; put is skipped on a "
          "UCX_TLS with tcp");
ABSL_FLAG(int32_t, spin_us, 200, "UcxKvTransport::Options::spin_before_sleep, both sides");
ABSL_FLAG(int32_t, perftest_runs, 3,
          "rounds per case: each runs --iterations transfers, then "
          "ucx_perftest at both sizes");
ABSL_FLAG(std::string, pool_memory, "transport",
          "where both pools live, ','-separated: transport "
          "(UcxKvTransport::AllocatePoolMemory, "
          "as ucx_perftest allocates its buffers) and/or mmap (anonymous memory)");

namespace baton::kvtransfer {
namespace {

struct Options {
  std::vector<std::string> tls;
  std::vector<int32_t> prompts;
  int32_t iterations = 10;
  std::string peer;
  bool perftest = true;
  int32_t max_run_blocks = 256;
  int32_t put_fragment_kib = 256;
  std::vector<std::string> modes;
  int32_t perftest_runs = 3;
  int32_t spin_us = 200;
  std::vector<std::string> pool_memory;
};

// MB/s as ucx_perftest counts them (2^20 bytes). Per round: the median of that round's transfers,
// and one perftest run at each size right after them (same machine load).
struct CaseResult {
  std::vector<double> mbps;              // Every timed transfer.
  std::vector<double> round_mbps;        // Median per round.
  std::vector<double> perftest_kv;       // Per round: one message of the whole KV.
  std::vector<double> perftest_message;  // Per round: message_bytes messages.
  double layer_latency_us = 0;
  size_t message_bytes = 0;
};

constexpr double kMiB = 1024.0 * 1024.0;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// The ucx_perftest test that matches a write mode
// (auto is held to the better of tag_bw and ucp_put_bw: which mode it picks depends on the
// endpoint and the pool's memory, and it should match the best UCX does on that wire.)
std::string PerftestFor(const std::string& mode) {
  return mode == "put" ? "ucp_put_bw" : mode == "am" ? "tag_bw" : "tag_bw,ucp_put_bw";
}

// ucx_perftest `test` over `tls` with `size`-byte messages: overall MB/s, or 0 on failure.
double RunPerftest(const std::string& tls, const std::string& test, size_t size, int iterations) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string port = absl::StrCat(FreePort());
    auto server = testing::ChildProcess::Start(
        {"/usr/bin/env", "UCX_TLS=" + tls, "UCX_NET_DEVICES=lo", "ucx_perftest", "-p", port});
    if (!server.ok()) return 0;
    absl::SleepFor(absl::Milliseconds(500));
    auto client = testing::ChildProcess::Start(
        {"/usr/bin/env", "UCX_TLS=" + tls, "UCX_NET_DEVICES=lo", "ucx_perftest", "127.0.0.1", "-p",
         port, "-t", test, "-s", absl::StrCat(size), "-n", absl::StrCat(iterations)});
    if (!client.ok()) return 0;
    std::optional<std::string> line = (*client)->ReadLineStartingWith("Final:", absl::Seconds(120));
    (*client)->CloseAndWait();
    (*server)->CloseAndWait();
    if (!line.has_value()) continue;
    std::vector<std::string> f = absl::StrSplit(*line, ' ', absl::SkipEmpty());
    double mbps = 0;
    // Final: iterations p50 avg overall bw_avg bw_overall rate_avg rate_overall
    if (f.size() >= 7 && absl::SimpleAtod(f[6], &mbps)) return mbps;
  }
  return 0;
}

// RunPerftest for each ','-separated test (ucp_put_bw skipped over tcp, where UCX emulates
// put): the best.
double RunPerftests(const std::string& tls, const std::string& tests, size_t size, int iterations) {
  double best = 0;
  for (absl::string_view test : absl::StrSplit(tests, ',')) {
    if (test == "ucp_put_bw" && absl::StrContains(tls, "tcp")) continue;
    best = std::max(best, RunPerftest(tls, std::string(test), size, iterations));
  }
  return best;
}

absl::StatusOr<CaseResult> RunCase(const Options& options, const std::string& tls,
                                   const std::string& mode, const std::string& pool_memory,
                                   int32_t prompt_tokens, KvTransport& transport,
                                   testing::ChildProcess& peer, TransferId& next_id) {
  const engine::KvLayout layout = testing::OneBLayout();
  const int32_t blocks = layout.BlocksFor(prompt_tokens);
  std::vector<int32_t> block_ids;
  for (int32_t b = 0; b < blocks; ++b) block_ids.push_back(b);
  testing::HostPool source(layout, blocks, pool_memory == "mmap" ? nullptr : &transport);
  source.FillPattern(block_ids, 1);
  const size_t bytes = layout.PoolBytes(blocks);
  CaseResult result;
  result.message_bytes =
      static_cast<size_t>(std::min(blocks, options.max_run_blocks)) * layout.LayerBlockBytes();

  auto start_transfer = [&]() -> absl::StatusOr<std::unique_ptr<KvWriteStream>> {
    const TransferId id = next_id++;
    peer.WriteLine(absl::StrCat("EXPECT ", id, " ", absl::StrJoin(block_ids, ","), " 60000 0"));
    std::optional<std::string> line = peer.ReadLineStartingWith("TARGET ", absl::Seconds(30));
    if (!line.has_value()) return absl::UnavailableError("receiver gave no target");
    absl::StatusOr<KvTarget> target = testing::TargetFromLine(line->substr(7));
    if (!target.ok()) return target.status();
    return transport.StartWrite(*target, {source.data(), blocks, layout, block_ids},
                                absl::Now() + absl::Seconds(60));
  };
  auto await_done = [&]() -> absl::Status {
    std::optional<std::string> done = peer.ReadLineStartingWith("DONE ", absl::Seconds(60));
    if (!done.has_value() || done->find(" OK ") == std::string::npos) {
      return absl::DataLossError(absl::StrCat("receiver: ", done.value_or("no DONE")));
    }
    return absl::OkStatus();
  };

  // Rounds interleave this transport's transfers with ucx_perftest runs, so that both see the same
  // machine load (this host is shared and noisy); ratios are taken per round.
  for (int32_t round = 0; round < options.perftest_runs; ++round) {
    std::vector<double> round_mbps;
    for (int32_t i = 0; i < options.iterations + (round == 0 ? 2 : 0); ++i) {
      absl::StatusOr<std::unique_ptr<KvWriteStream>> stream = start_transfer();
      if (!stream.ok()) return stream.status();
      std::vector<testing::StatusWaiter> layers(layout.num_layers);
      testing::StatusWaiter finish;
      const absl::Time t0 = absl::Now();
      for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
        (*stream)->WriteLayer(layer, layers[layer].Callback());
      }
      (*stream)->Finish(Completion{1}, finish.Callback());
      absl::Status status = finish.Wait(absl::Seconds(60));
      const absl::Duration elapsed = absl::Now() - t0;
      if (!status.ok()) return status;
      if (absl::Status s = await_done(); !s.ok()) return s;
      if (round > 0 || i >= 2) round_mbps.push_back(bytes / kMiB / absl::ToDoubleSeconds(elapsed));
    }
    result.round_mbps.push_back(Median(round_mbps));
    result.mbps.insert(result.mbps.end(), round_mbps.begin(), round_mbps.end());
    round_mbps.clear();
    if (options.perftest) {
      const int iterations =
          static_cast<int>(std::max<size_t>(50, (256u << 20) / result.message_bytes));
      result.perftest_kv.push_back(RunPerftests(tls, PerftestFor(mode), bytes, 20));
      result.perftest_message.push_back(
          RunPerftests(tls, PerftestFor(mode), result.message_bytes, iterations));
    }
  }

  std::vector<double> latencies;
  for (int32_t i = 0; i < 3; ++i) {
    absl::StatusOr<std::unique_ptr<KvWriteStream>> stream = start_transfer();
    if (!stream.ok()) return stream.status();
    for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
      testing::StatusWaiter done;
      const absl::Time t0 = absl::Now();
      (*stream)->WriteLayer(layer, done.Callback());
      if (absl::Status s = done.Wait(absl::Seconds(60)); !s.ok()) return s;
      latencies.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
    }
    testing::StatusWaiter finish;
    (*stream)->Finish(Completion{1}, finish.Callback());
    if (absl::Status s = finish.Wait(absl::Seconds(60)); !s.ok()) return s;
    if (absl::Status s = await_done(); !s.ok()) return s;
  }
  result.layer_latency_us = Median(latencies);
  return result;
}

struct Case {
  std::string tls;
  std::string mode;
  std::string pool_memory;
};

// (UCX_TLS, write mode, pool memory) to measure; put mode is left out over tcp (emulated there).
std::vector<Case> Cases(const Options& options) {
  std::vector<Case> cases;
  for (const std::string& tls : options.tls) {
    for (const std::string& mode : options.modes) {
      if (mode == "put" && tls.find("tcp") != std::string::npos) continue;
      for (const std::string& memory : options.pool_memory) cases.push_back({tls, mode, memory});
    }
  }
  return cases;
}

std::string Ratio(double ours, double theirs) {
  return theirs > 0 ? absl::StrFormat("%.2f", ours / theirs) : std::string("-");
}

// "median (min-max)" of ours[i] / theirs[i] over the rounds where perftest ran.
std::string RoundRatios(const std::vector<double>& ours, const std::vector<double>& theirs) {
  std::vector<double> ratios;
  for (size_t i = 0; i < ours.size() && i < theirs.size(); ++i) {
    if (theirs[i] > 0) ratios.push_back(ours[i] / theirs[i]);
  }
  if (ratios.empty()) return "-";
  const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
  return absl::StrFormat("%.2f (%.2f-%.2f)", Median(ratios), *lo, *hi);
}

double Max(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

void PrintRow(const Case& c, int32_t prompt, const CaseResult& r) {
  const size_t bytes = testing::OneBLayout().BytesPerToken() * static_cast<size_t>(prompt);
  std::printf(
      "| %s | %s | %s | %d | %s | %s | %.0f (%.0f) | %.0f | %s | %.0f (%.0f) | "
      "%s | %s | %.0f | "
      "%s |\n",
      c.tls.c_str(), c.mode.c_str(), c.pool_memory.c_str(), prompt,
      absl::StrCat(bytes / (1 << 20), " MiB").c_str(),
      absl::StrCat(r.message_bytes / 1024, " KiB").c_str(), Median(r.mbps), Max(r.mbps),
      r.layer_latency_us, PerftestFor(c.mode).c_str(), Median(r.perftest_kv), Max(r.perftest_kv),
      RoundRatios(r.round_mbps, r.perftest_kv).c_str(),
      Ratio(Max(r.mbps), Max(r.perftest_kv)).c_str(), Max(r.perftest_message),
      Ratio(Max(r.mbps), Max(r.perftest_message)).c_str());
  std::fflush(stdout);
}

int Run(const Options& options) {
  std::printf(
      "| UCX_TLS | mode | pool memory | prompt tokens | KV bytes | message "
      "bytes | "
      "kv_bench MB/s median (best) | per-layer latency us | perftest test | "
      "perftest MB/s at KV size median (best) | ratio per round median (range) "
      "| "
      "ratio best/best | perftest MB/s at message size best | ratio best/best "
      "|\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  int failures = 0;
  for (const Case& c : Cases(options)) {
    using WriteMode = UcxKvTransport::Options::WriteMode;
    UcxKvTransport::Options transport_options;
    transport_options.write_mode = c.mode == "am"    ? WriteMode::kActiveMessage
                                   : c.mode == "put" ? WriteMode::kPut
                                                     : WriteMode::kAuto;
    transport_options.ucx_config = {{"TLS", c.tls}, {"NET_DEVICES", "lo"}};
    transport_options.max_run_blocks = options.max_run_blocks;
    transport_options.put_fragment_bytes = static_cast<size_t>(options.put_fragment_kib) * 1024;
    transport_options.spin_before_sleep = absl::Microseconds(options.spin_us);
    auto transport = UcxKvTransport::Create(transport_options);
    if (!transport.ok()) {
      std::fprintf(stderr, "%s: %s\n", c.tls.c_str(), transport.status().ToString().c_str());
      ++failures;
      continue;
    }
    int32_t max_blocks = 0;
    for (int32_t p : options.prompts) {
      max_blocks = std::max(max_blocks, testing::OneBLayout().BlocksFor(p));
    }
    auto peer = testing::ChildProcess::Start(
        {options.peer, "--role=receiver", "--tls=" + c.tls, "--write_mode=" + c.mode,
         "--pool_memory=" + c.pool_memory, absl::StrCat("--blocks=", max_blocks),
         absl::StrCat("--spin_us=", options.spin_us)});
    if (!peer.ok()) {
      std::fprintf(stderr, "%s\n", peer.status().ToString().c_str());
      return 1;
    }
    TransferId next_id = 1;
    for (int32_t prompt : options.prompts) {
      absl::StatusOr<CaseResult> r =
          RunCase(options, c.tls, c.mode, c.pool_memory, prompt, **transport, **peer, next_id);
      if (!r.ok()) {
        std::printf("| %s | %s | %s | %d | - | - | failed: %s | | | | | | | |\n", c.tls.c_str(),
                    c.mode.c_str(), c.pool_memory.c_str(), prompt, r.status().ToString().c_str());
        ++failures;
        continue;
      }
      PrintRow(c, prompt, *r);
    }
    (*peer)->CloseAndWait();
  }
  return failures == 0 ? 0 : 1;
}

std::string DefaultPeerPath(const char* argv0) {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string exe = n > 0 ? std::string(self, n) : std::string(argv0);
  for (const std::string& candidate : {exe + ".runfiles/baton/kvtransfer/ucx/ucx_peer",
                                       exe.substr(0, exe.rfind('/')) + "/ucx/ucx_peer"}) {
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "kvtransfer/ucx/ucx_peer";
}

}  // namespace
}  // namespace baton::kvtransfer

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  baton::kvtransfer::Options options;
  options.tls = absl::StrSplit(absl::GetFlag(FLAGS_tls), ';', absl::SkipEmpty());
  for (absl::string_view p : absl::StrSplit(absl::GetFlag(FLAGS_prompts), ',')) {
    int32_t v = 0;
    if (absl::SimpleAtoi(p, &v) && v > 0) options.prompts.push_back(v);
  }
  options.iterations = std::max(1, absl::GetFlag(FLAGS_iterations));
  options.peer = absl::GetFlag(FLAGS_peer).empty() ? baton::kvtransfer::DefaultPeerPath(argv[0])
                                                   : absl::GetFlag(FLAGS_peer);
  options.perftest = absl::GetFlag(FLAGS_perftest);
  options.max_run_blocks = std::max(1, absl::GetFlag(FLAGS_max_run_blocks));
  options.put_fragment_kib = std::max(4, absl::GetFlag(FLAGS_put_fragment_kib));
  options.modes = absl::StrSplit(absl::GetFlag(FLAGS_modes), ',', absl::SkipEmpty());
  options.perftest_runs = std::max(1, absl::GetFlag(FLAGS_perftest_runs));
  options.spin_us = std::max(0, absl::GetFlag(FLAGS_spin_us));
  options.pool_memory = absl::StrSplit(absl::GetFlag(FLAGS_pool_memory), ',', absl::SkipEmpty());
  return baton::kvtransfer::Run(options);
}
