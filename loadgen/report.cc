#include "loadgen/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "loadgen/gnuplot.h"
#include "loadgen/text_file.h"

namespace baton::loadgen {
namespace {

using Json = nlohmann::json;

double Number(const Json& point, const char* key) {
  const auto it = point.find(key);
  return it != point.end() && it->is_number() ? it->get<double>() : 0.0;
}

bool HasGoodput(const std::vector<Sweep>& sweeps) {
  for (const Sweep& sweep : sweeps) {
    for (const Json& point : sweep.points) {
      if (point.contains("request_goodput") && point["request_goodput"].is_number()) return true;
    }
  }
  return false;
}

std::string LoadTitle(const std::string& load_name) {
  return load_name == "max_concurrency" ? "concurrency (requests in flight)"
                                        : "request rate (req/s)";
}

}  // namespace

Json SweepJson(const Sweep& sweep) {
  return {{"label", sweep.label}, {"load", sweep.load_name}, {"points", sweep.points}};
}

absl::StatusOr<Sweep> ReadSweep(const std::string& path, const std::string& label) {
  ASSIGN_OR_RETURN(const std::string text, ReadTextFile(path));
  const Json root = Json::parse(text, nullptr, false);
  if (!root.is_object()) return absl::InvalidArgumentError(path + ": not a JSON object");
  Sweep sweep;
  sweep.label = root.value("label", std::string());
  if (root.contains("points") && root["points"].is_array()) {
    sweep.load_name = root.value("load", std::string("request_rate"));
    for (const Json& point : root["points"]) sweep.points.push_back(point);
  } else if (root.contains("completed")) {
    sweep.load_name =
        root.value("arrivals", std::string()) == "closed" ? "max_concurrency" : "request_rate";
    sweep.points.push_back(root);
  } else {
    return absl::InvalidArgumentError(path + ": neither a sweep nor a run result");
  }
  if (sweep.points.empty()) return absl::InvalidArgumentError(path + ": a sweep without points");
  if (!label.empty()) sweep.label = label;
  if (sweep.label.empty()) sweep.label = path;
  return sweep;
}

double LoadOf(const Json& point, const std::string& load_name) {
  return Number(point, load_name.c_str());
}

std::string ComparisonTable(const std::vector<Sweep>& sweeps) {
  const bool goodput = HasGoodput(sweeps);
  std::string out = "| load |";
  std::string rule = "|---|";
  for (const Sweep& sweep : sweeps) {
    absl::StrAppend(&out, " ", sweep.label, ": ", goodput ? "goodput" : "throughput",
                    " (req/s) | tok/s | TTFT p50/p99 (ms) | TPOT p50/p99 (ms) | failed |");
    rule += "---|---|---|---|---|";
  }
  out += "\n" + rule + "\n";
  size_t rows = 0;
  for (const Sweep& sweep : sweeps) rows = std::max(rows, sweep.points.size());
  for (size_t i = 0; i < rows; ++i) {
    std::string load;
    std::string cells;
    for (const Sweep& sweep : sweeps) {
      if (i >= sweep.points.size()) {
        cells += " | | | | |";
        continue;
      }
      const Json& p = sweep.points[i];
      if (load.empty()) load = absl::StrFormat("%g", LoadOf(p, sweep.load_name));
      absl::StrAppend(
          &cells,
          absl::StrFormat(" %.2f | %.1f | %.0f / %.0f | %.1f / %.1f | %d |",
                          Number(p, goodput ? "request_goodput" : "request_throughput"),
                          Number(p, "output_throughput"), Number(p, "median_ttft_ms"),
                          Number(p, "p99_ttft_ms"), Number(p, "median_tpot_ms"),
                          Number(p, "p99_tpot_ms"), static_cast<int64_t>(Number(p, "failed"))));
    }
    absl::StrAppend(&out, "| ", load, " |", cells, "\n");
  }
  return out;
}

absl::Status WriteComparisonPlots(const std::vector<Sweep>& sweeps, const std::string& prefix) {
  if (sweeps.empty()) return absl::InvalidArgumentError("nothing to plot");
  const bool goodput = HasGoodput(sweeps);
  struct Figure {
    const char* suffix;
    const char* key;
    std::string title;
    std::string y_label;
  };
  const Figure figures[] = {
      {"_goodput", goodput ? "request_goodput" : "request_throughput",
       goodput ? "Goodput (requests meeting the SLO per second)" : "Request throughput",
       goodput ? "goodput (req/s)" : "throughput (req/s)"},
      {"_ttft", "p99_ttft_ms", "p99 time to first token", "p99 TTFT (ms)"},
      {"_tpot", "p99_tpot_ms", "p99 time per output token", "p99 TPOT (ms)"},
  };
  for (const Figure& figure : figures) {
    PlotSpec spec{.title = figure.title,
                  .x_label = LoadTitle(sweeps[0].load_name),
                  .y_label = figure.y_label};
    for (const Sweep& sweep : sweeps) {
      PlotSeries series{.label = sweep.label};
      for (const Json& point : sweep.points) {
        series.points.emplace_back(LoadOf(point, sweep.load_name), Number(point, figure.key));
      }
      spec.series.push_back(std::move(series));
    }
    RETURN_IF_ERROR(WritePlot(spec, prefix + figure.suffix));
  }
  return absl::OkStatus();
}

}  // namespace baton::loadgen
