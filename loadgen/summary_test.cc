#include "loadgen/summary.h"

#include <vector>

#include "gtest/gtest.h"

namespace baton::loadgen {
namespace {

// A completed record sent at `send_s` whose chunks (one token each) arrive at `chunks`.
RequestRecord Completed(double send_s, std::vector<double> chunks, int32_t prompt_tokens = 10) {
  RequestRecord record;
  record.ok = true;
  record.send_s = send_s;
  record.chunk_s = chunks;
  record.chunk_tokens.assign(chunks.size(), 1);
  record.end_s = chunks.back();
  record.prompt_tokens = prompt_tokens;
  record.output_tokens = static_cast<int32_t>(chunks.size());
  return record;
}

RequestRecord Failed(double send_s, std::string code) {
  RequestRecord record;
  record.send_s = send_s;
  record.end_s = send_s + 0.01;
  record.error_code = code;
  record.error_message = "boom";
  return record;
}

TEST(PercentileTest, InterpolatesLinearlyLikeNumpy) {
  const std::vector<double> values = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(Percentile(values, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(values, 50), 2.5);
  EXPECT_DOUBLE_EQ(Percentile(values, 90), 3.7);
  EXPECT_DOUBLE_EQ(Percentile(values, 100), 4);
  EXPECT_DOUBLE_EQ(Percentile({}, 50), 0);
}

TEST(LatencyStatsTest, PercentilesAreMonotone) {
  std::vector<double> values;
  for (int i = 0; i < 101; ++i) values.push_back((i * 37) % 101);
  const LatencyStats stats = ComputeLatencyStats(values);
  EXPECT_DOUBLE_EQ(stats.mean, 50);
  EXPECT_DOUBLE_EQ(stats.median, 50);
  EXPECT_DOUBLE_EQ(stats.p90, 90);
  EXPECT_DOUBLE_EQ(stats.p99, 99);
  EXPECT_LE(stats.min, stats.median);
  EXPECT_LE(stats.p95, stats.p99);
  EXPECT_LE(stats.p99, stats.max);
}

TEST(SummarizeTest, TtftTpotItlAndE2elFollowTheirDefinitions) {
  // Sent at 1.0; tokens at 1.2, 1.25, 1.35, 1.40: TTFT 200 ms, E2EL 400 ms,
  // TPOT (400 - 200) / 3, ITLs 50, 100, 50.
  const Summary summary = Summarize({Completed(1.0, {1.2, 1.25, 1.35, 1.40})}, 2.0, {});
  EXPECT_NEAR(summary.ttft_ms.mean, 200, 1e-9);
  EXPECT_NEAR(summary.e2el_ms.mean, 400, 1e-9);
  EXPECT_NEAR(summary.tpot_ms.mean, 200.0 / 3, 1e-9);
  EXPECT_EQ(summary.itl_ms.count, 3);
  EXPECT_NEAR(summary.itl_ms.median, 50, 1e-9);
  EXPECT_NEAR(summary.itl_ms.max, 100, 1e-9);
  EXPECT_DOUBLE_EQ(summary.request_throughput, 0.5);
  EXPECT_DOUBLE_EQ(summary.output_throughput, 2);
  EXPECT_DOUBLE_EQ(summary.total_token_throughput, 7);
  EXPECT_FALSE(summary.request_goodput.has_value());  // no SLO given
}

TEST(SummarizeTest, GoodputCountsCompletedRequestsMeetingEverySlo) {
  const std::vector<RequestRecord> records = {
      Completed(0, {0.1, 0.12, 0.14}),  // TTFT 100, TPOT 20: good
      Completed(0, {0.5, 0.52, 0.54}),  // TTFT 500: misses the TTFT SLO
      Completed(0, {0.1, 0.2, 0.3}),    // TPOT 100: misses the TPOT SLO
      Completed(0, {0.2}),              // one token, no TPOT: good
      Failed(0, "grpc:UNAVAILABLE"),    // never good
  };
  const Summary summary = Summarize(records, 4.0, {.ttft_ms = 300, .tpot_ms = 50});
  EXPECT_EQ(summary.good_requests, 2);
  ASSERT_TRUE(summary.request_goodput.has_value());
  EXPECT_DOUBLE_EQ(*summary.request_goodput, 0.5);
  EXPECT_EQ(Summarize(records, 4.0, {.ttft_ms = 300}).good_requests, 3);
  EXPECT_EQ(Summarize(records, 4.0, {.tpot_ms = 50}).good_requests, 3);
}

TEST(SummarizeTest, CountsFailuresByCodeAndLeavesWarmupOut) {
  RequestRecord warmup = Completed(0, {0.1, 0.2});
  warmup.warmup = true;
  const std::vector<RequestRecord> records = {warmup, Completed(1, {1.1, 1.2}),
                                              Failed(1.5, "http:429"), Failed(2, "http:429"),
                                              Failed(3, "transport")};
  const Summary summary = Summarize(records, 2.0, {});
  EXPECT_EQ(summary.sent, 4);
  EXPECT_EQ(summary.completed, 1);
  EXPECT_EQ(summary.failed, 3);
  EXPECT_EQ(summary.errors_by_code.at("http:429"), 2);
  EXPECT_EQ(summary.errors_by_code.at("transport"), 1);
  EXPECT_EQ(summary.first_error_by_code.at("transport"), "boom");
  EXPECT_EQ(summary.total_output_tokens, 2);
  EXPECT_EQ(summary.ttft_ms.count, 1);
  // Sends at 1, 1.5, 2, 3: three gaps over two seconds.
  EXPECT_DOUBLE_EQ(summary.achieved_request_rate, 1.5);
}

}  // namespace
}  // namespace baton::loadgen
