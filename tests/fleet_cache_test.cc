// Prefix caching across the fleet, end to end: 20 requests sharing a 512-token system prompt
// through the real router, prefill and decode worker processes (a random model with a 2048-token
// context; token ids are compared). After the first request the prefill worker computes only the
// uncached suffix and sends only the blocks the decode worker lacks, and every output equals the
// single-process reference (no cache at all).
#include <vector>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cluster.h"
#include "tests/fleet_cluster.h"

namespace baton::testing {
namespace {

constexpr int kShared = 512;
constexpr int kSuffix = 16;
constexpr int kRequests = 20;
constexpr int kMaxTokens = 8;

TEST(FleetCacheTest, SharedSystemPromptIsComputedAndSentOnce) {
  ASSERT_OK_AND_ASSIGN(std::string model, MakeLongContextModel(41));
  FleetClusterOptions options;
  options.model_path = model;
  options.num_prefill = 1;
  options.num_decode = 1;
  // Every request goes through the prefill worker (no local prefill of short remainders), so
  // what crosses the wire is measured.
  options.router_flags = {"--routing_policy=prefix_aware", "--local_prefill_max_tokens=0"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FleetCluster> cluster, FleetCluster::Start(options));

  const std::vector<int32_t> system = SyntheticPrompt(kShared, 1);
  double computed_first = 0, sent_first = 0;
  for (int i = 0; i < kRequests; ++i) {
    std::vector<int32_t> prompt = system;
    const std::vector<int32_t> suffix = SyntheticPrompt(kSuffix, 100 + i);
    prompt.insert(prompt.end(), suffix.begin(), suffix.end());
    ASSERT_OK_AND_ASSIGN(StreamResult result, cluster->Generate(0, prompt, kMaxTokens));
    ASSERT_OK_AND_ASSIGN(std::vector<int32_t> reference,
                         GenerateReference(model, prompt, kMaxTokens));
    EXPECT_EQ(result.tokens, reference) << "request " << i;
    if (i == 0) {
      ASSERT_OK_AND_ASSIGN(std::string text, MetricsText(cluster->prefill(0).http_port()));
      computed_first = MetricSum(text, "baton_prefill_prompt_tokens_total");
      sent_first = MetricSum(text, "baton_prefill_kv_transfer_sent_bytes_total");
    }
  }
  ASSERT_OK_AND_ASSIGN(std::string prefill, MetricsText(cluster->prefill(0).http_port()));
  ASSERT_OK_AND_ASSIGN(std::string decode, MetricsText(cluster->decode(0).http_port()));
  EXPECT_EQ(computed_first, kShared + kSuffix);
  EXPECT_GT(sent_first, 0);
  const double computed_later = MetricSum(prefill, "baton_prefill_prompt_tokens_total") - computed_first;
  const double sent_later =
      MetricSum(prefill, "baton_prefill_kv_transfer_sent_bytes_total") - sent_first;
  // Each later request computes its suffix and at most 10% of the shared part...
  EXPECT_LE(computed_later, (kRequests - 1) * (kSuffix + 0.1 * kShared));
  // ...and sends at most a tenth of the first request's KV: D holds the shared blocks.
  EXPECT_LE(sent_later, (kRequests - 1) * 0.1 * sent_first);
  EXPECT_GE(MetricSum(decode, "baton_decode_prefix_cache_hit_tokens_total"),
            (kRequests - 1) * 0.9 * kShared);
  EXPECT_THAT(cluster->WaitWorkersIdle(), IsOk());
}

}  // namespace
}  // namespace baton::testing
