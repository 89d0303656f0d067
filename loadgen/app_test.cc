// The loadgen modes end to end against the router's front ends over a timed backend: a sweep
// over rates from a JSONL dataset writes its sweep file, table and plots; compare reads two sweep
// files back into one side-by-side table and plots with one series each.
#include "loadgen/app.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "loadgen/testing/temp_files.h"
#include "loadgen/testing/timed_server.h"
#include "nlohmann/json.hpp"

namespace baton::loadgen {
namespace {

using Json = nlohmann::json;

TEST(AppTest, SweepWritesPointsTableAndPlotsThenCompareReadsThemBack) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<testing::TimedServer> server,
      testing::TimedServer::Start([](const baton::v1::GenerateRequest&) {
        return testing::InjectedTiming{absl::Milliseconds(5), absl::Milliseconds(2)};
      }));
  const std::string dataset = testing::TempPath("prompts.jsonl");
  std::ofstream(dataset) << "{\"prompt\": \"one two\", \"output_tokens\": 3}\n"
                            "{\"prompt\": \"three\", \"output_tokens\": 5}\n";
  LoadgenOptions options;
  options.backend = Backend::kOpenAi;
  options.target = server->http_target();
  options.call.model = "timed";
  options.dataset = "jsonl";
  options.dataset_path = dataset;
  options.arrivals = {.kind = ArrivalKind::kFixedRate};
  options.num_requests = 4;
  options.slo.ttft_ms = 1000;
  options.sweep = {20, 40};
  for (const char* label : {"first", "second"}) {
    options.label = label;
    options.result_json = testing::TempPath(std::string(label) + ".json");
    options.report_prefix = testing::TempPath(label);
    std::ostringstream out;
    ASSERT_OK(RunLoadgen(options, out, nullptr));
    EXPECT_TRUE(absl::StrContains(out.str(), "Serving Benchmark Result")) << out.str();
    const Json sweep = Json::parse(testing::ReadTempFile(options.result_json));
    EXPECT_EQ(sweep["label"], label);
    EXPECT_EQ(sweep["load"], "request_rate");
    ASSERT_EQ(sweep["points"].size(), 2u);
    EXPECT_EQ(sweep["points"][0]["request_rate"], 20);
    EXPECT_EQ(sweep["points"][1]["request_rate"], 40);
    for (const Json& point : sweep["points"]) {
      EXPECT_EQ(point["completed"], 4);
      EXPECT_EQ(point["total_output_tokens"], 16);  // 3 + 5 + 3 + 5
    }
    EXPECT_TRUE(absl::StrContains(testing::ReadTempFile(options.report_prefix + ".md"), "| 40 |"));
    EXPECT_TRUE(
        absl::StrContains(testing::ReadTempFile(options.report_prefix + "_goodput.svg"), "<svg"));
  }

  LoadgenOptions compare;
  compare.compare = {testing::TempPath("first.json"), testing::TempPath("second.json")};
  compare.report_prefix = testing::TempPath("both");
  std::ostringstream out;
  ASSERT_OK(RunLoadgen(compare, out, nullptr));
  EXPECT_TRUE(absl::StrContains(out.str(), "first: goodput")) << out.str();
  EXPECT_TRUE(absl::StrContains(out.str(), "second: goodput")) << out.str();
  const std::string svg = testing::ReadTempFile(testing::TempPath("both_ttft.svg"));
  EXPECT_TRUE(absl::StrContains(svg, "gnuplot_plot_2"));
  EXPECT_FALSE(absl::StrContains(svg, "gnuplot_plot_3"));
}

TEST(AppTest, BadOptionsAreInvalidArgument) {
  LoadgenOptions options;
  options.num_requests = 1;
  options.target = "127.0.0.1:1";
  EXPECT_THAT(RunLoadgen(options, std::cout, nullptr),  // synthetic without a model
              ::baton::testing::StatusIs(absl::StatusCode::kInvalidArgument));
  options.dataset = "csv";
  EXPECT_THAT(RunLoadgen(options, std::cout, nullptr),
              ::baton::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::loadgen
