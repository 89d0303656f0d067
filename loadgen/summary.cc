#include "loadgen/summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace baton::loadgen {

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * (values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(rank));
  const size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (rank - below) * (values[above] - values[below]);
}

LatencyStats ComputeLatencyStats(const std::vector<double>& values) {
  LatencyStats stats;
  stats.count = static_cast<int64_t>(values.size());
  if (values.empty()) return stats;
  stats.mean = std::accumulate(values.begin(), values.end(), 0.0) / values.size();
  double squares = 0;
  for (double v : values) squares += (v - stats.mean) * (v - stats.mean);
  stats.std = std::sqrt(squares / values.size());
  stats.median = Percentile(values, 50);
  stats.p90 = Percentile(values, 90);
  stats.p95 = Percentile(values, 95);
  stats.p99 = Percentile(values, 99);
  stats.min = *std::min_element(values.begin(), values.end());
  stats.max = *std::max_element(values.begin(), values.end());
  return stats;
}

std::optional<double> TtftMs(const RequestRecord& record) {
  if (!record.ok || record.chunk_s.empty()) return std::nullopt;
  return (record.chunk_s.front() - record.send_s) * 1000;
}

std::optional<double> TpotMs(const RequestRecord& record) {
  const std::optional<double> ttft = TtftMs(record);
  if (!ttft || record.output_tokens < 2) return std::nullopt;
  const double e2el_ms = (record.end_s - record.send_s) * 1000;
  return (e2el_ms - *ttft) / (record.output_tokens - 1);
}

bool MeetsSlo(const RequestRecord& record, const Slo& slo) {
  if (!record.ok) return false;
  if (slo.ttft_ms) {
    const std::optional<double> ttft = TtftMs(record);
    if (!ttft || *ttft > *slo.ttft_ms) return false;
  }
  if (slo.tpot_ms) {
    const std::optional<double> tpot = TpotMs(record);
    if (tpot && *tpot > *slo.tpot_ms) return false;
  }
  return true;
}

Summary Summarize(const std::vector<RequestRecord>& records, double duration_s, const Slo& slo) {
  Summary summary;
  summary.duration_s = duration_s;
  std::vector<double> ttft, tpot, itl, e2el;
  double first_send_s = 0, last_send_s = 0;
  for (const RequestRecord& record : records) {
    if (record.warmup) continue;
    if (summary.sent == 0) first_send_s = record.send_s;
    first_send_s = std::min(first_send_s, record.send_s);
    last_send_s = std::max(last_send_s, record.send_s);
    ++summary.sent;
    if (!record.ok) {
      ++summary.failed;
      ++summary.errors_by_code[record.error_code];
      summary.first_error_by_code.emplace(record.error_code, record.error_message);
      continue;
    }
    ++summary.completed;
    summary.total_input_tokens += record.prompt_tokens;
    summary.total_output_tokens += record.output_tokens;
    if (std::optional<double> v = TtftMs(record)) ttft.push_back(*v);
    if (std::optional<double> v = TpotMs(record)) tpot.push_back(*v);
    e2el.push_back((record.end_s - record.send_s) * 1000);
    for (size_t i = 1; i < record.chunk_s.size(); ++i) {
      itl.push_back((record.chunk_s[i] - record.chunk_s[i - 1]) * 1000);
    }
    if (MeetsSlo(record, slo)) ++summary.good_requests;
  }
  if (duration_s > 0) {
    summary.request_throughput = summary.completed / duration_s;
    summary.output_throughput = summary.total_output_tokens / duration_s;
    summary.total_token_throughput =
        (summary.total_input_tokens + summary.total_output_tokens) / duration_s;
    if (slo.ttft_ms || slo.tpot_ms) summary.request_goodput = summary.good_requests / duration_s;
  }
  if (summary.sent > 1 && last_send_s > first_send_s) {
    summary.achieved_request_rate = (summary.sent - 1) / (last_send_s - first_send_s);
  }
  summary.ttft_ms = ComputeLatencyStats(ttft);
  summary.tpot_ms = ComputeLatencyStats(tpot);
  summary.itl_ms = ComputeLatencyStats(itl);
  summary.e2el_ms = ComputeLatencyStats(e2el);
  return summary;
}

}  // namespace baton::loadgen
