// Sweep comparison tables and plots: the plots are rendered by gnuplot, then the SVG is parsed
// back as XML (expat) to check that it has the axes' labels and ticks and one series per sweep.
#include "loadgen/report.h"

#include <expat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "loadgen/testing/temp_files.h"

namespace baton::loadgen {
namespace {

using Json = nlohmann::json;

Json Point(double rate, double goodput, double p99_ttft) {
  return {{"request_rate", rate},
          {"request_goodput", goodput},
          {"request_throughput", rate},
          {"output_throughput", rate * 10},
          {"median_ttft_ms", 10.0},
          {"p99_ttft_ms", p99_ttft},
          {"median_tpot_ms", 2.0},
          {"p99_tpot_ms", 4.0},
          {"failed", 0},
          {"completed", 10}};
}

// What the SVG holds: its root, every text, and the series groups with their titles.
struct Svg {
  std::string root;
  std::vector<std::string> texts;
  std::vector<std::string> series_titles;  // one per <g id="gnuplot_plot_N">: its key label
  bool well_formed = false;
};

struct SvgParse {
  Svg svg;
  int depth = 0;
  int series_depth = -1;  // depth of the open gnuplot_plot_N group
  bool in_text = false;
  std::string text;
};

Svg ParseSvg(const std::string& xml) {
  SvgParse state;
  XML_Parser parser = XML_ParserCreate(nullptr);
  XML_SetUserData(parser, &state);
  XML_SetElementHandler(
      parser,
      [](void* data, const XML_Char* name, const XML_Char** attributes) {
        auto* s = static_cast<SvgParse*>(data);
        if (s->depth++ == 0) s->svg.root = name;
        const std::string element = name;
        for (int i = 0; attributes[i] != nullptr; i += 2) {
          if (element == "g" && std::string(attributes[i]) == "id" &&
              absl::StartsWith(attributes[i + 1], "gnuplot_plot_")) {
            s->series_depth = s->depth;
            s->svg.series_titles.emplace_back();
          }
        }
        if (element == "text") {
          s->in_text = true;
          s->text.clear();
        }
      },
      [](void* data, const XML_Char* name) {
        auto* s = static_cast<SvgParse*>(data);
        if (std::string(name) == "text") {
          s->in_text = false;
          s->svg.texts.push_back(s->text);
          // A series group's first text is its entry in the key: the series' label.
          if (s->series_depth > 0 && s->svg.series_titles.back().empty()) {
            s->svg.series_titles.back() = s->text;
          }
        }
        if (s->depth-- == s->series_depth) s->series_depth = -1;
      });
  XML_SetCharacterDataHandler(parser, [](void* data, const XML_Char* chars, int length) {
    auto* s = static_cast<SvgParse*>(data);
    if (s->in_text) s->text.append(chars, length);
  });
  state.svg.well_formed =
      XML_Parse(parser, xml.data(), static_cast<int>(xml.size()), /*isFinal=*/1) == XML_STATUS_OK;
  XML_ParserFree(parser);
  return state.svg;
}

bool HasText(const Svg& svg, const std::string& text) {
  for (const std::string& t : svg.texts) {
    if (t == text) return true;
  }
  return false;
}

TEST(ReportTest, PlotsHaveAxesAndOneSeriesPerRun) {
  const std::vector<Sweep> sweeps = {
      {.label = "disaggregated",
       .load_name = "request_rate",
       .points = {Point(1, 1, 50), Point(2, 1.9, 80), Point(4, 3.2, 300)}},
      {.label = "colocated",
       .load_name = "request_rate",
       .points = {Point(1, 1, 60), Point(2, 1.5, 200), Point(4, 1.0, 900)}},
      {.label = "third build", .load_name = "request_rate", .points = {Point(1, 0.5, 70)}}};
  const std::string prefix = testing::TempPath("cmp");
  ASSERT_OK(WriteComparisonPlots(sweeps, prefix));
  for (const char* figure : {"_goodput", "_ttft", "_tpot"}) {
    SCOPED_TRACE(figure);
    const Svg svg = ParseSvg(testing::ReadTempFile(prefix + figure + ".svg"));
    ASSERT_TRUE(svg.well_formed);
    EXPECT_EQ(svg.root, "svg");
    EXPECT_TRUE(HasText(svg, "request rate (req/s)"));
    EXPECT_EQ(svg.series_titles,
              (std::vector<std::string>{"disaggregated", "colocated", "third build"}));
    // Tick labels on both axes: numbers, among them 0 where both ranges start.
    EXPECT_TRUE(HasText(svg, "0") || HasText(svg, "0.0") || HasText(svg, " 0"));
    const std::string png = testing::ReadTempFile(prefix + figure + ".png");
    ASSERT_GT(png.size(), 8u);
    EXPECT_EQ(png.substr(1, 3), "PNG");
  }
  EXPECT_TRUE(HasText(ParseSvg(testing::ReadTempFile(prefix + "_goodput.svg")), "goodput (req/s)"));
  EXPECT_TRUE(HasText(ParseSvg(testing::ReadTempFile(prefix + "_ttft.svg")), "p99 TTFT (ms)"));
}

TEST(ReportTest, TableIsSideBySideAndSweepFilesRoundTrip) {
  const Sweep a{.label = "disagg",
                .load_name = "request_rate",
                .points = {Point(1, 0.9, 50), Point(2, 1.8, 90)}};
  const std::string path = testing::TempPath("a.json");
  std::ofstream(path) << SweepJson(a).dump();
  ASSERT_OK_AND_ASSIGN(Sweep read, ReadSweep(path));
  EXPECT_EQ(read.label, "disagg");
  ASSERT_EQ(read.points.size(), 2u);
  // One run's result file reads as a one-point sweep.
  Json single = Point(3, 2.5, 70);
  single["arrivals"] = "poisson";
  std::ofstream(testing::TempPath("b.json")) << single.dump();
  ASSERT_OK_AND_ASSIGN(Sweep one, ReadSweep(testing::TempPath("b.json"), "colocated"));
  EXPECT_EQ(one.label, "colocated");
  const std::string table = ComparisonTable({read, one});
  EXPECT_TRUE(absl::StrContains(table, "disagg: goodput")) << table;
  EXPECT_TRUE(absl::StrContains(table, "colocated: goodput")) << table;
  EXPECT_TRUE(absl::StrContains(table, "| 1 | 0.90 |")) << table;
  EXPECT_TRUE(absl::StrContains(table, "| 2 | 1.80 |")) << table;
  std::ofstream(testing::TempPath("c.json")) << "[1, 2]";
  EXPECT_THAT(ReadSweep(testing::TempPath("c.json")).status(),
              ::baton::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::loadgen
