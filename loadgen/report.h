// Sweeps and comparisons: a sweep is a labelled list of run results (result_json.h) at rising
// load (request rate or concurrency). A comparison puts two or more sweeps side by side
// (disaggregated vs colocated, one build vs another) as a Markdown table and as plots of goodput
// and latency percentiles against load, one series per sweep. A single run's result file reads
// as a sweep of one point. Stateless functions, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace baton::loadgen {

struct Sweep {
  std::string label;
  std::string load_name;               // "request_rate" or "max_concurrency"
  std::vector<nlohmann::json> points;  // result JSONs, in the order run
};

// {"label", "load": load_name, "points": [...]}.
nlohmann::json SweepJson(const Sweep& sweep);

// A sweep file, or one run's result file as a one-point sweep. kInvalidArgument for anything
// else; kNotFound when the file cannot be read. `label`, when not empty, replaces the file's.
absl::StatusOr<Sweep> ReadSweep(const std::string& path, const std::string& label = "");

// The load of a result point under `load_name`.
double LoadOf(const nlohmann::json& point, const std::string& load_name);

// Markdown: one row per load, for each sweep its goodput, throughput, p50/p99 TTFT, p50/p99
// TPOT and failures.
std::string ComparisonTable(const std::vector<Sweep>& sweeps);

// Writes <prefix>_goodput, <prefix>_ttft and <prefix>_tpot (.svg, .png, .gp): goodput (or
// request throughput when no SLO was set), p99 TTFT and p99 TPOT against load, one series per
// sweep. Errors as WritePlot.
absl::Status WriteComparisonPlots(const std::vector<Sweep>& sweeps, const std::string& prefix);

}  // namespace baton::loadgen
