#include "engine/tools/bench_tool.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "common/status_macros.h"
#include "engine/kv_cache/block_table.h"
#include "engine/runtime/engine.h"

namespace baton::engine::tools {
namespace {

BenchFigure Summarize(const std::vector<double>& tps) {
  BenchFigure f;
  if (tps.empty()) return f;
  for (double t : tps) f.mean_tokens_per_second += t;
  f.mean_tokens_per_second /= tps.size();
  double var = 0;
  for (double t : tps) var += (t - f.mean_tokens_per_second) * (t - f.mean_tokens_per_second);
  f.stddev_tokens_per_second = tps.size() > 1 ? std::sqrt(var / (tps.size() - 1)) : 0;
  return f;
}

// Seconds to prefill n tokens in one step from an empty sequence.
absl::StatusOr<double> TimePrompt(Engine& engine, KvPool& pool, int32_t n) {
  std::vector<int32_t> tokens(n);
  for (int32_t i = 0; i < n; ++i) tokens[i] = (i * 7919 + 13) % engine.config().vocab_size;
  BlockTable seq;
  RETURN_IF_ERROR(seq.Reserve(pool, n));
  StepLogits logits;
  SequenceStep step{seq.blocks(), tokens, 0, LogitsMode::kLast};
  const auto start = std::chrono::steady_clock::now();
  absl::Status s = engine.Step(pool, {&step, 1}, &logits);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RETURN_IF_ERROR(seq.Release(pool));
  RETURN_IF_ERROR(s);
  return seconds;
}

// Seconds to generate n tokens one step at a time from an empty sequence.
absl::StatusOr<double> TimeGeneration(Engine& engine, KvPool& pool, int32_t n) {
  BlockTable seq;
  RETURN_IF_ERROR(seq.Reserve(pool, n));
  StepLogits logits;
  int32_t token = 1;
  const auto start = std::chrono::steady_clock::now();
  absl::Status s;
  for (int32_t i = 0; i < n && s.ok(); ++i) {
    SequenceStep step{seq.blocks(), {&token, 1}, seq.num_tokens(), LogitsMode::kLast};
    s = engine.Step(pool, {&step, 1}, &logits);
    seq.Advance(1);
    token = (token * 31 + 7) % engine.config().vocab_size;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RETURN_IF_ERROR(seq.Release(pool));
  RETURN_IF_ERROR(s);
  return seconds;
}

}  // namespace

absl::StatusOr<BenchResult> RunBench(const BenchOptions& o) {
  if (o.n_prompt < 0 || o.n_gen < 0 || o.repetitions < 1) {
    return absl::InvalidArgumentError("n_prompt, n_gen >= 0 and repetitions >= 1 required");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::Load(o.model_path));
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                   Engine::Create(model, {.num_threads = o.threads}));
  const KvLayout layout = engine->MakeKvLayout(o.kv_dtype, 16);
  ASSIGN_OR_RETURN(std::unique_ptr<KvPool> pool,
                   KvPool::Create(layout, layout.BlocksFor(std::max(o.n_prompt, o.n_gen)) + 1));
  BenchResult result;
  result.model_description = model->config().DebugString();
  if (o.n_prompt > 0) {
    RETURN_IF_ERROR(TimePrompt(*engine, *pool, o.n_prompt).status());  // warm-up
    std::vector<double> tps;
    for (int32_t r = 0; r < o.repetitions; ++r) {
      ASSIGN_OR_RETURN(double s, TimePrompt(*engine, *pool, o.n_prompt));
      tps.push_back(o.n_prompt / s);
    }
    result.pp = Summarize(tps);
  }
  if (o.n_gen > 0) {
    RETURN_IF_ERROR(TimeGeneration(*engine, *pool, std::min(o.n_gen, 16)).status());  // warm-up
    std::vector<double> tps;
    for (int32_t r = 0; r < o.repetitions; ++r) {
      ASSIGN_OR_RETURN(double s, TimeGeneration(*engine, *pool, o.n_gen));
      tps.push_back(o.n_gen / s);
    }
    result.tg = Summarize(tps);
  }
  return result;
}

std::string FormatBench(const BenchOptions& o, const BenchResult& r) {
  std::string out = "model: " + r.model_description + "\n";
  out += "| threads | kv | test | t/s |\n|---|---|---|---|\n";
  char line[256];
  auto row = [&](const char* test, int32_t n, const BenchFigure& f) {
    std::snprintf(line, sizeof(line), "| %d | %s | %s%d | %.2f ± %.2f |\n", o.threads,
                  KvDTypeName(o.kv_dtype), test, n, f.mean_tokens_per_second,
                  f.stddev_tokens_per_second);
    out += line;
  };
  if (o.n_prompt > 0) row("pp", o.n_prompt, r.pp);
  if (o.n_gen > 0) row("tg", o.n_gen, r.tg);
  return out;
}

}  // namespace baton::engine::tools
