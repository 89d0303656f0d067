#include "loadgen/app.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "loadgen/dataset.h"
#include "loadgen/grpc_stream_client.h"
#include "loadgen/http_stream_client.h"
#include "loadgen/prompt_builder.h"
#include "loadgen/report.h"
#include "loadgen/result_json.h"
#include "loadgen/runner.h"
#include "loadgen/summary_table.h"
#include "loadgen/text_file.h"
#include "loadgen/workload.h"
#include "router/text_codec.h"

namespace baton::loadgen {
namespace {

using Json = nlohmann::json;

// The tokenizer (when a model is given) and the workload built from it.
struct WorkloadSource {
  std::unique_ptr<router::TextCodec> codec;
  std::optional<PromptBuilder> builder;
  std::unique_ptr<Workload> workload;
};

absl::StatusOr<std::unique_ptr<WorkloadSource>> MakeWorkload(const LoadgenOptions& options) {
  auto source = std::make_unique<WorkloadSource>();
  if (!options.model_path.empty()) {
    ASSIGN_OR_RETURN(source->codec, router::TextCodec::FromGguf(options.model_path));
    ASSIGN_OR_RETURN(PromptBuilder builder, PromptBuilder::Create(&source->codec->tokenizer()));
    source->builder.emplace(std::move(builder));
  }
  ASSIGN_OR_RETURN(LengthDistribution output, LengthDistribution::Parse(options.output_tokens));
  if (options.dataset == "synthetic") {
    if (!source->builder) {
      return absl::InvalidArgumentError("synthetic prompts need --model (the tokenizer)");
    }
    SyntheticOptions synthetic;
    ASSIGN_OR_RETURN(synthetic.input_tokens, LengthDistribution::Parse(options.input_tokens));
    synthetic.output_tokens = output;
    synthetic.prefix_groups = options.prefix_groups;
    synthetic.prefix_tokens = options.prefix_tokens;
    synthetic.seed = options.seed;
    ASSIGN_OR_RETURN(source->workload, SyntheticWorkload::Create(&*source->builder, synthetic));
    return source;
  }
  TokenCounter count;
  if (source->builder) {
    const PromptBuilder* builder = &*source->builder;
    count = [builder](const std::string& text) { return builder->CountTokens(text); };
  }
  std::vector<RequestSpec> entries;
  if (options.dataset == "jsonl") {
    ASSIGN_OR_RETURN(entries, ReadJsonlDataset(options.dataset_path, count));
  } else if (options.dataset == "sharegpt") {
    ASSIGN_OR_RETURN(entries, ReadShareGptDataset(options.dataset_path, count));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("dataset '", options.dataset, "': want synthetic, jsonl or sharegpt"));
  }
  std::mt19937_64 rng(options.seed);
  ASSIGN_OR_RETURN(source->workload,
                   DatasetWorkload::Create(std::move(entries), output.Sample(rng), options.seed));
  return source;
}

absl::StatusOr<std::unique_ptr<StreamClient>> MakeClient(const LoadgenOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("--target (host:port) is required");
  if (options.backend == Backend::kGrpc) {
    return std::unique_ptr<StreamClient>(
        std::make_unique<GrpcStreamClient>(options.target, options.call));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<HttpStreamClient> client,
                   HttpStreamClient::Create(options.target, options.call, options.http_threads));
  return std::unique_ptr<StreamClient>(std::move(client));
}

RunDescription Describe(const LoadgenOptions& options, const ArrivalOptions& arrivals) {
  return RunDescription{.label = options.label,
                        .backend = options.backend == Backend::kGrpc ? "grpc" : "openai",
                        .arrivals = ArrivalKindName(arrivals.kind),
                        .request_rate = arrivals.rate,
                        .max_concurrency = arrivals.concurrency,
                        .burst = arrivals.burst,
                        .slo = options.slo};
}

// One run at `arrivals`: its summary printed, its result returned.
absl::StatusOr<Json> RunOnce(const LoadgenOptions& options, const ArrivalOptions& arrivals,
                             std::ostream& out, std::ostream* progress) {
  ASSIGN_OR_RETURN(std::unique_ptr<WorkloadSource> source, MakeWorkload(options));
  ASSIGN_OR_RETURN(std::unique_ptr<StreamClient> client, MakeClient(options));
  RunOptions run{.arrivals = arrivals,
                 .num_requests = options.num_requests,
                 .duration = options.duration,
                 .warmup_requests = options.warmup_requests};
  if (progress != nullptr) {
    run.on_progress = [progress](const Progress& p) {
      *progress << "\r" << ProgressLine(p) << "\033[K" << std::flush;
    };
  }
  absl::StatusOr<RunResult> result = RunLoad(*client, *source->workload, run);
  if (progress != nullptr) *progress << "\n";
  if (!result.ok()) return result.status();
  const RunDescription description = Describe(options, arrivals);
  const Summary summary = Summarize(result->records, result->duration_s, options.slo);
  out << SummaryTable(description, summary) << std::flush;
  return ResultJson(description, summary, result->records);
}

absl::Status Compare(const LoadgenOptions& options, std::ostream& out) {
  std::vector<Sweep> sweeps;
  for (size_t i = 0; i < options.compare.size(); ++i) {
    const std::string label = i < options.compare_labels.size() ? options.compare_labels[i] : "";
    ASSIGN_OR_RETURN(Sweep sweep, ReadSweep(options.compare[i], label));
    // Consecutive files with one label are one sweep run point by point (e.g. alternated with
    // another setup's points so both see the same machine).
    if (!sweeps.empty() && sweeps.back().label == sweep.label) {
      for (nlohmann::json& point : sweep.points) sweeps.back().points.push_back(std::move(point));
      continue;
    }
    sweeps.push_back(std::move(sweep));
  }
  const std::string table = ComparisonTable(sweeps);
  out << table;
  if (!options.report_prefix.empty()) {
    RETURN_IF_ERROR(WriteTextFile(options.report_prefix + ".md", table));
    RETURN_IF_ERROR(WriteComparisonPlots(sweeps, options.report_prefix));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunLoadgen(const LoadgenOptions& options, std::ostream& out, std::ostream* progress) {
  if (!options.compare.empty()) return Compare(options, out);
  if (options.sweep.empty()) {
    ASSIGN_OR_RETURN(Json result, RunOnce(options, options.arrivals, out, progress));
    if (!options.result_json.empty()) {
      RETURN_IF_ERROR(WriteTextFile(options.result_json, result.dump(1)));
    }
    return absl::OkStatus();
  }
  Sweep sweep{.label = options.label.empty() ? "run" : options.label,
              .load_name = options.arrivals.kind == ArrivalKind::kClosedLoop ? "max_concurrency"
                                                                             : "request_rate"};
  for (double load : options.sweep) {
    ArrivalOptions arrivals = options.arrivals;
    if (arrivals.kind == ArrivalKind::kClosedLoop) {
      arrivals.concurrency = static_cast<int32_t>(load);
    } else {
      arrivals.rate = load;
    }
    out << absl::StrFormat("\n%s at %s = %g\n", sweep.label, sweep.load_name, load);
    ASSIGN_OR_RETURN(Json point, RunOnce(options, arrivals, out, progress));
    sweep.points.push_back(std::move(point));
  }
  if (!options.result_json.empty()) {
    RETURN_IF_ERROR(WriteTextFile(options.result_json, SweepJson(sweep).dump(1)));
  }
  const std::string table = ComparisonTable({sweep});
  out << "\n" << table;
  if (!options.report_prefix.empty()) {
    RETURN_IF_ERROR(WriteTextFile(options.report_prefix + ".md", table));
    RETURN_IF_ERROR(WriteComparisonPlots({sweep}, options.report_prefix));
  }
  return absl::OkStatus();
}

}  // namespace baton::loadgen
