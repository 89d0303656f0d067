#include "loadgen/summary_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace baton::loadgen {
namespace {

constexpr int kWidth = 50;

std::string Rule(const std::string& title, char fill) {
  const int pad = std::max<int>(0, kWidth - static_cast<int>(title.size()));
  return absl::StrCat(std::string(pad / 2, fill), title, std::string(pad - pad / 2, fill), "\n");
}

std::string Row(const std::string& name, const std::string& value) {
  return absl::StrFormat("%-40s%10s\n", name, value);
}

std::string Number(double value) { return absl::StrFormat("%.2f", value); }

void AddLatency(std::string& out, const char* title, const char* name, const LatencyStats& s) {
  out += Rule(title, '-');
  out += Row(absl::StrCat("Mean ", name, " (ms):"), Number(s.mean));
  out += Row(absl::StrCat("Median ", name, " (ms):"), Number(s.median));
  out += Row(absl::StrCat("P90 ", name, " (ms):"), Number(s.p90));
  out += Row(absl::StrCat("P95 ", name, " (ms):"), Number(s.p95));
  out += Row(absl::StrCat("P99 ", name, " (ms):"), Number(s.p99));
}

}  // namespace

std::string SummaryTable(const RunDescription& run, const Summary& summary) {
  std::string out = Rule(" Serving Benchmark Result ", '=');
  out += Row("Backend / arrivals:", absl::StrCat(run.backend, "/", run.arrivals));
  out += Row("Requests sent:", absl::StrCat(summary.sent));
  out += Row("Successful requests:", absl::StrCat(summary.completed));
  out += Row("Failed requests:", absl::StrCat(summary.failed));
  out += Row("Benchmark duration (s):", Number(summary.duration_s));
  out += Row("Total input tokens:", absl::StrCat(summary.total_input_tokens));
  out += Row("Total generated tokens:", absl::StrCat(summary.total_output_tokens));
  out += Row("Achieved send rate (req/s):", Number(summary.achieved_request_rate));
  out += Row("Request throughput (req/s):", Number(summary.request_throughput));
  if (summary.request_goodput) {
    std::string slo;
    if (run.slo.ttft_ms) absl::StrAppend(&slo, " TTFT<=", *run.slo.ttft_ms, "ms");
    if (run.slo.tpot_ms) absl::StrAppend(&slo, " TPOT<=", *run.slo.tpot_ms, "ms");
    out += Row(absl::StrCat("Request goodput (req/s):"), Number(*summary.request_goodput));
    out += Row(absl::StrCat("  requests meeting", slo, ":"), absl::StrCat(summary.good_requests));
  }
  out += Row("Output token throughput (tok/s):", Number(summary.output_throughput));
  out += Row("Total token throughput (tok/s):", Number(summary.total_token_throughput));
  AddLatency(out, " Time to First Token ", "TTFT", summary.ttft_ms);
  AddLatency(out, " Time per Output Token (excl. 1st token) ", "TPOT", summary.tpot_ms);
  AddLatency(out, " Inter-token Latency ", "ITL", summary.itl_ms);
  AddLatency(out, " End-to-end Latency ", "E2EL", summary.e2el_ms);
  if (summary.failed > 0) {
    out += Rule(absl::StrCat(" Failed: ", summary.failed, " of ", summary.sent, " requests "), '-');
    for (const auto& [code, count] : summary.errors_by_code) {
      out += absl::StrCat("  ", code, ": ", count, "  (e.g. \"",
                          summary.first_error_by_code.at(code), "\")\n");
    }
  }
  out += std::string(kWidth, '=') + "\n";
  return out;
}

std::string ProgressLine(const Progress& progress, int width) {
  double fraction = 0;
  if (progress.target_requests > 0) {
    fraction = static_cast<double>(progress.completed + progress.failed) / progress.target_requests;
  }
  if (progress.target_s > 0) fraction = std::max(fraction, progress.elapsed_s / progress.target_s);
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * width);
  std::string bar = std::string(filled, '=') + (filled < width ? ">" : "") +
                    std::string(std::max(0, width - filled - 1), ' ');
  const double seconds = std::max(progress.elapsed_s, 1e-9);
  return absl::StrFormat("[%s] %d/%d done  %.1f s  %.1f req/s  %.0f tok/s  errors %d", bar,
                         progress.completed + progress.failed, progress.sent, progress.elapsed_s,
                         progress.completed / seconds, progress.output_tokens / seconds,
                         progress.failed);
}

}  // namespace baton::loadgen
