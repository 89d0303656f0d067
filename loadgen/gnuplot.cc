#include "loadgen/gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "loadgen/text_file.h"

extern char** environ;

namespace baton::loadgen {
namespace {

// A gnuplot double-quoted string.
std::string Quoted(const std::string& text) {
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
}

std::string Script(const PlotSpec& spec, const std::string& path_prefix) {
  std::ostringstream gp;
  gp.precision(10);
  for (size_t i = 0; i < spec.series.size(); ++i) {
    gp << "$series" << i << " << EOD\n";
    for (const auto& [x, y] : spec.series[i].points) gp << x << " " << y << "\n";
    gp << "EOD\n";
  }
  gp << "set title " << Quoted(spec.title) << "\n"
     << "set xlabel " << Quoted(spec.x_label) << "\n"
     << "set ylabel " << Quoted(spec.y_label) << "\n"
     << "set grid\nset key left top\nset yrange [0:*]\nset xrange [0:*]\n";
  std::string plot = "plot ";
  for (size_t i = 0; i < spec.series.size(); ++i) {
    absl::StrAppend(&plot, i > 0 ? ", " : "", "$series", i,
                    " using 1:2 with linespoints lw 2 pt 7 title ", Quoted(spec.series[i].label));
  }
  gp << "set terminal svg size 800,500 dynamic noenhanced font 'sans,12' background rgb 'white'\n"
     << "set output " << Quoted(path_prefix + ".svg") << "\n"
     << plot << "\n"
     << "set terminal pngcairo size 800,500 noenhanced font 'sans,10'\n"
     << "set output " << Quoted(path_prefix + ".png") << "\n"
     << plot << "\n"
     << "unset output\n";
  return gp.str();
}

}  // namespace

absl::Status WritePlot(const PlotSpec& spec, const std::string& path_prefix) {
  if (spec.series.empty()) return absl::InvalidArgumentError("a plot needs at least one series");
  for (const PlotSeries& series : spec.series) {
    if (series.points.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("series '", series.label, "' has no points"));
    }
  }
  const std::string script_path = path_prefix + ".gp";
  const std::string log_path = path_prefix + ".gnuplot.log";
  if (absl::Status written = WriteTextFile(script_path, Script(spec, path_prefix)); !written.ok()) {
    return written;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::string program = "gnuplot";
  char* argv[] = {program.data(), const_cast<char*>(script_path.c_str()), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return absl::UnavailableError(
        "cannot run gnuplot (Debian package gnuplot-nox; scripts/setup.sh installs it)");
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string log = ReadTextFile(log_path).value_or("");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
      return absl::UnavailableError("gnuplot is not installed (scripts/setup.sh installs it)");
    }
    return absl::InternalError(absl::StrCat("gnuplot failed on ", script_path, ": ", log));
  }
  return absl::OkStatus();
}

}  // namespace baton::loadgen
