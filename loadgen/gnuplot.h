// Line plots through gnuplot (Debian's gnuplot-nox): one script per figure, data inline, rendered
// as SVG (svg terminal) and PNG (pngcairo). Each series becomes one gnuplot plot element with its
// label as the title, so in the SVG it is one <g id="gnuplot_plot_N"> group.
// Stateless; runs gnuplot as a child process. Thread-safe for distinct output paths.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace baton::loadgen {

struct PlotSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in this order
};

struct PlotSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<PlotSeries> series;
};

// Writes `<path_prefix>.gp` (the script), `<path_prefix>.svg` and `<path_prefix>.png`.
// kInvalidArgument for a plot without series or points; kUnavailable when gnuplot cannot be run
// (not installed: scripts/setup.sh installs it); kInternal when it fails (its output quoted).
absl::Status WritePlot(const PlotSpec& spec, const std::string& path_prefix);

}  // namespace baton::loadgen
