// Router settings side by side (not a pass/fail test: tagged manual, run on demand and quoted in
// docs/BENCHMARKS.md), one suite per question:
//
//   bazel test --test_output=streamed --test_filter=FleetRoutingBench.Policies //tests:fleet_routing_bench
//
//   Policies            round_robin, least_loaded, two_choices, prefix_aware on the shared-prefix
//                       workload
//   PrefixOverlapWeight prefix_aware's --prefix_overlap_weight 1, 2, 4, 8 on the same workload
//   LocalPrefill        --local_prefill_max_tokens 0, 32, 64, 128, 256 on a mixed short/long
//                       workload
//   PrefillSaturation   --prefill_saturated_tokens 0 (never), 4096, 2048, 1024 on long prompts
//                       that outrun the prefill workers
//
// Every run is a fresh fleet (router + 2 prefill + 2 decode worker processes on loopback, KV over
// UCX tcp, a random q4_0 model with a 2048-token context, kKvBlocks KV blocks per worker) and the
// same requests from concurrent clients. The settings of a suite alternate over 5 rounds (8 for
// LocalPrefill and PrefixOverlapWeight; the first setting of round r is setting r), so a machine whose load drifts weighs on each of
// them alike. Reported per setting, over all rounds: client-side TTFT p50/p99, throughput
// (requests and generated tokens per second of wall time), the cache hit rate (prompt tokens
// served from a worker's prefix cache, both pools' hit counters, over all prompt tokens), the
// router's local prefills, and the 1-minute load average seen at the runs' ends.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cluster.h"
#include "tests/fleet_cluster.h"

namespace baton::testing {
namespace {

// Blocks per worker pool (16 tokens each): room for about half of the shared-prefix workload's
// system prompts beside the requests in flight, so where a prefix is sent decides whether it is
// still cached.
constexpr int kKvBlocks = 320;

struct Workload {
  int clients;
  int32_t max_tokens;
  std::vector<std::vector<int32_t>> prompts;
};

// 160 requests from 4 clients: one of 16 system prompts of 384 tokens plus a unique 32-token
// question each, 8 tokens generated. The system prompts follow each other at random (a fixed
// seed): in turn (i % 16), round robin over two workers would send each one to the same worker
// every time, a stickiness no real traffic has.
Workload SharedPrefixWorkload() {
  Workload workload{.clients = 4, .max_tokens = 8, .prompts = {}};
  std::mt19937 random(7);
  for (int i = 0; i < 160; ++i) {
    std::vector<int32_t> prompt =
        SyntheticPrompt(384, 1 + std::uniform_int_distribution<int>(0, 15)(random));
    const std::vector<int32_t> suffix = SyntheticPrompt(32, 1000 + i);
    prompt.insert(prompt.end(), suffix.begin(), suffix.end());
    workload.prompts.push_back(std::move(prompt));
  }
  return workload;
}

// 120 requests from 6 clients, 16 tokens generated, a third each (at random, a fixed seed): a
// unique prompt of 8 to 96 tokens; one of 4 system prompts of 256 tokens plus a unique question
// of 16 to 160 tokens (what is left to compute once a decode worker holds the system prompt); a
// unique 448-token prompt.
Workload MixedWorkload() {
  Workload workload{.clients = 6, .max_tokens = 16, .prompts = {}};
  std::mt19937 random(11);
  auto uniform = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };
  for (int i = 0; i < 120; ++i) {
    std::vector<int32_t> prompt;
    const int kind = uniform(0, 2);
    if (kind == 0) {
      prompt = SyntheticPrompt(uniform(8, 96), 2000 + i);
    } else if (kind == 1) {
      prompt = SyntheticPrompt(256, 1 + uniform(0, 3));
      const std::vector<int32_t> suffix = SyntheticPrompt(uniform(16, 160), 3000 + i);
      prompt.insert(prompt.end(), suffix.begin(), suffix.end());
    } else {
      prompt = SyntheticPrompt(448, 4000 + i);
    }
    workload.prompts.push_back(std::move(prompt));
  }
  return workload;
}

// 100 unique 448-token prompts from 10 clients, 16 tokens generated: more prompt tokens than two
// prefill workers keep up with, so their queues grow.
Workload LongPromptWorkload() {
  Workload workload{.clients = 10, .max_tokens = 16, .prompts = {}};
  for (int i = 0; i < 100; ++i) workload.prompts.push_back(SyntheticPrompt(448, 5000 + i));
  return workload;
}

struct Setting {
  std::string label;
  std::vector<std::string> router_flags;
};

struct Totals {
  std::vector<double> ttft_ms;
  double requests_per_s = 0;  // summed over rounds
  double tokens_per_s = 0;
  double hit_tokens = 0;
  double prompt_tokens = 0;
  double local_prefills = 0;
  std::vector<std::string> load_averages;
};

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  return values[index];
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one_minute;
  in >> one_minute;
  return one_minute.empty() ? "?" : one_minute;
}

// One run of `workload` on a fresh fleet with `setting`, added to `totals`.
void RunOnce(const std::string& model, const Setting& setting, const Workload& workload,
             Totals* totals) {
  FleetClusterOptions options;
  options.model_path = model;
  options.router_flags = setting.router_flags;
  options.prefill_flags = {absl::StrCat("--kv_blocks=", kKvBlocks)};
  options.decode_flags = {absl::StrCat("--kv_blocks=", kKvBlocks)};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FleetCluster> cluster, FleetCluster::Start(options));
  absl::Mutex mu;
  std::atomic<int> next{0};
  std::vector<std::thread> clients;
  const int count = static_cast<int>(workload.prompts.size());
  const absl::Time run_start = absl::Now();
  for (int c = 0; c < workload.clients; ++c) {
    clients.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        const absl::Time start = absl::Now();
        absl::Time first = absl::InfiniteFuture();
        absl::StatusOr<StreamResult> result =
            cluster->Generate(0, workload.prompts[i], workload.max_tokens, [&](size_t) {
              if (first == absl::InfiniteFuture()) first = absl::Now();
            });
        ASSERT_TRUE(result.ok()) << result.status();
        absl::MutexLock lock(&mu);
        totals->ttft_ms.push_back(absl::ToDoubleMilliseconds(first - start));
      }
    });
  }
  for (std::thread& t : clients) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - run_start);
  totals->load_averages.push_back(LoadAverage());
  totals->requests_per_s += count / seconds;
  totals->tokens_per_s += static_cast<double>(count) * workload.max_tokens / seconds;
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(std::string d, MetricsText(cluster->decode(i).http_port()));
    ASSERT_OK_AND_ASSIGN(std::string p, MetricsText(cluster->prefill(i).http_port()));
    totals->hit_tokens += MetricSum(d, "baton_decode_prefix_cache_hit_tokens_total") +
                          MetricSum(p, "baton_prefill_prefix_cache_hit_tokens_total");
  }
  for (const auto& prompt : workload.prompts) totals->prompt_tokens += prompt.size();
  ASSERT_OK_AND_ASSIGN(std::string router, MetricsText(cluster->router().http_port()));
  totals->local_prefills += MetricSum(router, "baton_router_local_prefills_total");
  EXPECT_THAT(cluster->WaitWorkersIdle(), IsOk());
}

// Runs every setting `rounds` times, alternated, and prints one table row per setting.
void Compare(const std::vector<Setting>& settings, const Workload& workload, int rounds = 5) {
  ASSERT_OK_AND_ASSIGN(std::string model, MakeLongContextModel(61));
  std::vector<Totals> totals(settings.size());
  for (int round = 0; round < rounds; ++round) {
    for (size_t k = 0; k < settings.size(); ++k) {
      const size_t s = (round + k) % settings.size();
      std::printf("round %d: %s (load %s)\n", round + 1, settings[s].label.c_str(),
                  LoadAverage().c_str());
      std::fflush(stdout);
      RunOnce(model, settings[s], workload, &totals[s]);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  std::printf(
      "| setting | TTFT p50 (ms) | TTFT p99 (ms) | req/s | tokens/s | cache hit rate | "
      "local prefills per run | load at run ends |\n|---|---|---|---|---|---|---|---|\n");
  for (size_t s = 0; s < settings.size(); ++s) {
    const Totals& t = totals[s];
    std::printf("| %s | %.1f | %.1f | %.2f | %.1f | %.1f%% | %.1f | %s |\n",
                settings[s].label.c_str(), Percentile(t.ttft_ms, 0.5),
                Percentile(t.ttft_ms, 0.99), t.requests_per_s / rounds, t.tokens_per_s / rounds,
                100.0 * t.hit_tokens / t.prompt_tokens, t.local_prefills / rounds,
                absl::StrJoin(t.load_averages, " ").c_str());
  }
  std::fflush(stdout);
}

// One setting per value of router flag `flag`, each with `fixed` flags too.
std::vector<Setting> Sweep(const std::string& flag, const std::vector<std::string>& values,
                           const std::vector<std::string>& fixed = {}) {
  std::vector<Setting> settings;
  for (const std::string& value : values) {
    Setting setting{absl::StrCat(flag, " ", value), fixed};
    setting.router_flags.push_back(absl::StrCat("--", flag, "=", value));
    settings.push_back(std::move(setting));
  }
  return settings;
}

TEST(FleetRoutingBench, Policies) {
  Compare(Sweep("routing_policy", {"round_robin", "least_loaded", "two_choices", "prefix_aware"}),
          SharedPrefixWorkload());
}

TEST(FleetRoutingBench, PrefixOverlapWeight) {
  Compare(Sweep("prefix_overlap_weight", {"1", "2", "4", "8"}, {"--routing_policy=prefix_aware"}),
          SharedPrefixWorkload(), /*rounds=*/8);
}

TEST(FleetRoutingBench, LocalPrefill) {
  Compare(Sweep("local_prefill_max_tokens", {"0", "32", "64", "128", "256"},
                {"--prefill_saturated_tokens=0"}),
          MixedWorkload(), /*rounds=*/8);
}

TEST(FleetRoutingBench, PrefillSaturation) {
  Compare(Sweep("prefill_saturated_tokens", {"0", "4096", "2048", "1024"},
                {"--local_prefill_max_tokens=0"}),
          LongPromptWorkload());
}

}  // namespace
}  // namespace baton::testing
