// Routing policies side by side on a shared-prefix workload (not a pass/fail test: tagged manual,
// run on demand and quoted in docs/BENCHMARKS.md):
//
//   bazel test --test_output=streamed //tests:fleet_routing_bench
//
// For each policy in turn: a fresh fleet (router + 2 prefill + 2 decode worker processes on
// loopback, KV over UCX tcp, a random q4_0 model with a 2048-token context, kKvBlocks KV blocks
// per worker), then the same workload: kGroups system prompts of kShared tokens, each request one of them plus a unique
// kSuffix-token question, kRequests requests from kClients concurrent clients, kMaxTokens greedy
// tokens each. Reports client-side TTFT p50/p99 and the cache hit rate: prompt tokens served from
// a worker's prefix cache (both pools' hit counters) over all prompt tokens.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/cluster.h"
#include "tests/fleet_cluster.h"

namespace baton::testing {
namespace {

constexpr int kGroups = 16;
// Blocks per worker pool (16 tokens each): room for about half of the system prompts beside the
// requests in flight, so where a prefix is sent decides whether it is still cached.
constexpr int kKvBlocks = 320;
constexpr int kShared = 384;
constexpr int kSuffix = 32;
constexpr int kRequests = 160;
constexpr int kClients = 4;
constexpr int kMaxTokens = 8;

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  return values[index];
}

TEST(FleetRoutingBench, SharedPrefixWorkload) {
  ASSERT_OK_AND_ASSIGN(std::string model, MakeLongContextModel(61));
  std::printf("| policy | TTFT p50 (ms) | TTFT p99 (ms) | cache hit rate |\n|---|---|---|---|\n");
  for (const char* policy : {"round_robin", "least_loaded", "two_choices", "prefix_aware"}) {
    FleetClusterOptions options;
    options.model_path = model;
    options.router_flags = {absl::StrCat("--routing_policy=", policy)};
    options.prefill_flags = {absl::StrCat("--kv_blocks=", kKvBlocks)};
    options.decode_flags = {absl::StrCat("--kv_blocks=", kKvBlocks)};
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<FleetCluster> cluster, FleetCluster::Start(options));
    absl::Mutex mu;
    std::vector<double> ttft_ms;
    std::atomic<int> next{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&] {
        for (int i = next++; i < kRequests; i = next++) {
          std::vector<int32_t> prompt = SyntheticPrompt(kShared, 1 + i % kGroups);
          const std::vector<int32_t> suffix = SyntheticPrompt(kSuffix, 1000 + i);
          prompt.insert(prompt.end(), suffix.begin(), suffix.end());
          const absl::Time start = absl::Now();
          absl::Time first = absl::InfiniteFuture();
          absl::StatusOr<StreamResult> result =
              cluster->Generate(0, prompt, kMaxTokens, [&](size_t) {
                if (first == absl::InfiniteFuture()) first = absl::Now();
              });
          ASSERT_TRUE(result.ok()) << result.status();
          absl::MutexLock lock(&mu);
          ttft_ms.push_back(absl::ToDoubleMilliseconds(first - start));
        }
      });
    }
    for (std::thread& t : clients) t.join();
    double hit_tokens = 0;
    for (int i = 0; i < 2; ++i) {
      ASSERT_OK_AND_ASSIGN(std::string d, MetricsText(cluster->decode(i).http_port()));
      ASSERT_OK_AND_ASSIGN(std::string p, MetricsText(cluster->prefill(i).http_port()));
      hit_tokens += MetricSum(d, "baton_decode_prefix_cache_hit_tokens_total") +
                    MetricSum(p, "baton_prefill_prefix_cache_hit_tokens_total");
    }
    const double prompt_tokens = static_cast<double>(kRequests) * (kShared + kSuffix);
    std::printf("| %s | %.1f | %.1f | %.1f%% |\n", policy, Percentile(ttft_ms, 0.5),
                Percentile(ttft_ms, 0.99), 100.0 * hit_tokens / prompt_tokens);
    std::fflush(stdout);
  }
}

}  // namespace
}  // namespace baton::testing
