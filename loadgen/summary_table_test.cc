#include "loadgen/summary_table.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace baton::loadgen {
namespace {

TEST(SummaryTableTest, ShowsTheMetricsAndWhatFailed) {
  Summary summary;
  summary.sent = 10;
  summary.completed = 7;
  summary.failed = 3;
  summary.errors_by_code = {{"grpc:UNAVAILABLE", 3}};
  summary.first_error_by_code = {{"grpc:UNAVAILABLE", "Socket closed"}};
  summary.request_goodput = 1.5;
  summary.ttft_ms.p99 = 123.456;
  const std::string table =
      SummaryTable({.backend = "grpc", .arrivals = "poisson", .slo = {.ttft_ms = 200}}, summary);
  for (const char* text :
       {"Successful requests:", "P99 TTFT (ms):", "123.46", "Request goodput", "TTFT<=200ms",
        "Failed: 3 of 10 requests", "grpc:UNAVAILABLE: 3  (e.g. \"Socket closed\")"}) {
    EXPECT_TRUE(absl::StrContains(table, text)) << text << "\n" << table;
  }
  summary.failed = 0;
  EXPECT_FALSE(absl::StrContains(SummaryTable({}, summary), "Failed:"));
}

TEST(SummaryTableTest, ProgressLineFillsWithTheLargerOfCountAndTime) {
  Progress progress{.sent = 6,
                    .completed = 4,
                    .failed = 1,
                    .output_tokens = 100,
                    .target_requests = 10,
                    .elapsed_s = 2};
  const std::string half = ProgressLine(progress, 10);
  EXPECT_TRUE(absl::StartsWith(half, "[=====>    ]")) << half;
  EXPECT_TRUE(absl::StrContains(half, "5/6 done")) << half;
  EXPECT_TRUE(absl::StrContains(half, "2.0 req/s")) << half;
  EXPECT_TRUE(absl::StrContains(half, "50 tok/s")) << half;
  EXPECT_TRUE(absl::StrContains(half, "errors 1")) << half;
  progress.target_s = 2.5;  // 80% of the time
  EXPECT_TRUE(absl::StartsWith(ProgressLine(progress, 10), "[========> ]"));
}

}  // namespace
}  // namespace baton::loadgen
