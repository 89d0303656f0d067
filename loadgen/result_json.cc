#include "loadgen/result_json.h"

#include "absl/strings/str_cat.h"

namespace baton::loadgen {
namespace {

using Json = nlohmann::json;

void PutLatency(Json& out, const char* name, const LatencyStats& stats) {
  out[absl::StrCat("mean_", name, "_ms")] = stats.mean;
  out[absl::StrCat("median_", name, "_ms")] = stats.median;
  out[absl::StrCat("std_", name, "_ms")] = stats.std;
  out[absl::StrCat("p90_", name, "_ms")] = stats.p90;
  out[absl::StrCat("p95_", name, "_ms")] = stats.p95;
  out[absl::StrCat("p99_", name, "_ms")] = stats.p99;
  out[absl::StrCat("min_", name, "_ms")] = stats.min;
  out[absl::StrCat("max_", name, "_ms")] = stats.max;
}

Json Optional(const std::optional<double>& value) { return value ? Json(*value) : Json(nullptr); }

}  // namespace

Json RecordJson(const RequestRecord& record) {
  Json out = {{"index", record.index},
              {"warmup", record.warmup},
              {"ok", record.ok},
              {"send_s", record.send_s},
              {"end_s", record.end_s},
              {"prompt_tokens", record.prompt_tokens},
              {"output_tokens", record.output_tokens},
              {"expected_output_tokens", record.expected_output_tokens},
              {"chunk_s", record.chunk_s},
              {"chunk_tokens", record.chunk_tokens},
              {"ttft_ms", Optional(TtftMs(record))},
              {"tpot_ms", Optional(TpotMs(record))}};
  if (!record.ok) {
    out["error_code"] = record.error_code;
    out["error"] = record.error_message;
  }
  return out;
}

Json ResultJson(const RunDescription& run, const Summary& summary,
                const std::vector<RequestRecord>& records) {
  Json out = {
      {"label", run.label},
      {"backend", run.backend},
      {"arrivals", run.arrivals},
      {"request_rate", run.arrivals == "closed" ? Json(nullptr) : Json(run.request_rate)},
      {"max_concurrency", run.arrivals == "closed" ? Json(run.max_concurrency) : Json(nullptr)},
      {"burst", run.burst},
      {"slo_ttft_ms", Optional(run.slo.ttft_ms)},
      {"slo_tpot_ms", Optional(run.slo.tpot_ms)},
      {"duration", summary.duration_s},
      {"sent", summary.sent},
      {"completed", summary.completed},
      {"failed", summary.failed},
      {"errors_by_code", summary.errors_by_code},
      {"total_input_tokens", summary.total_input_tokens},
      {"total_output_tokens", summary.total_output_tokens},
      {"request_throughput", summary.request_throughput},
      {"request_goodput", Optional(summary.request_goodput)},
      {"good_requests", summary.good_requests},
      {"output_throughput", summary.output_throughput},
      {"total_token_throughput", summary.total_token_throughput},
      {"achieved_request_rate", summary.achieved_request_rate}};
  PutLatency(out, "ttft", summary.ttft_ms);
  PutLatency(out, "tpot", summary.tpot_ms);
  PutLatency(out, "itl", summary.itl_ms);
  PutLatency(out, "e2el", summary.e2el_ms);
  Json input_lens = Json::array(), output_lens = Json::array(), ttfts = Json::array(),
       itls = Json::array(), errors = Json::array(), requests = Json::array();
  for (const RequestRecord& record : records) {
    requests.push_back(RecordJson(record));
    if (record.warmup) continue;
    input_lens.push_back(record.prompt_tokens);
    output_lens.push_back(record.ok ? record.output_tokens : 0);
    const std::optional<double> ttft = TtftMs(record);
    ttfts.push_back(ttft ? *ttft / 1000 : 0.0);
    Json gaps = Json::array();
    for (size_t i = 1; i < record.chunk_s.size(); ++i) {
      gaps.push_back(record.chunk_s[i] - record.chunk_s[i - 1]);
    }
    itls.push_back(std::move(gaps));
    errors.push_back(record.ok ? "" : absl::StrCat(record.error_code, ": ", record.error_message));
  }
  out["input_lens"] = std::move(input_lens);
  out["output_lens"] = std::move(output_lens);
  out["ttfts"] = std::move(ttfts);
  out["itls"] = std::move(itls);
  out["errors"] = std::move(errors);
  out["requests"] = std::move(requests);
  return out;
}

}  // namespace baton::loadgen
