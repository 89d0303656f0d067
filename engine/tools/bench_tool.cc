#include "engine/tools/bench_tool.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "common/status_macros.h"
#include "engine/kv_cache/block_table.h"
#include "engine/runtime/engine.h"
#include "engine/tools/decode_traffic.h"
#include "engine/tools/process_memory.h"

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

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
  const double seconds = SecondsSince(start);
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
  const double seconds = SecondsSince(start);
  RETURN_IF_ERROR(seq.Release(pool));
  RETURN_IF_ERROR(s);
  return seconds;
}

struct BatchedSeconds {
  double prompt = 0;
  double generation = 0;
};

// `batch` sequences of n_prompt tokens prefilled in one step, then n_gen steps of one token
// for each sequence, as llama-batched-bench runs them.
absl::StatusOr<BatchedSeconds> TimeBatched(Engine& engine, KvPool& pool, int32_t batch,
                                           int32_t n_prompt, int32_t n_gen) {
  const int32_t vocab = engine.config().vocab_size;
  std::vector<BlockTable> seqs(batch);
  std::vector<std::vector<int32_t>> prompts(batch);
  std::vector<int32_t> next(batch);
  absl::Status s;
  for (int32_t b = 0; b < batch && s.ok(); ++b) {
    s = seqs[b].Reserve(pool, n_prompt + n_gen);
    prompts[b].resize(n_prompt);
    for (int32_t i = 0; i < n_prompt; ++i) prompts[b][i] = (i * 7919 + 13 + 101 * b) % vocab;
    next[b] = (b * 31 + 7) % vocab;
  }
  BatchedSeconds seconds;
  StepLogits logits;
  std::vector<SequenceStep> steps(batch);
  if (s.ok() && n_prompt > 0) {
    for (int32_t b = 0; b < batch; ++b) {
      steps[b] = {seqs[b].blocks(), prompts[b], 0, LogitsMode::kLast};
    }
    const auto start = std::chrono::steady_clock::now();
    s = engine.Step(pool, steps, &logits);
    seconds.prompt = SecondsSince(start);
    for (BlockTable& seq : seqs) seq.Advance(n_prompt);
  }
  const auto start = std::chrono::steady_clock::now();
  for (int32_t i = 0; i < n_gen && s.ok(); ++i) {
    for (int32_t b = 0; b < batch; ++b) {
      steps[b] = {seqs[b].blocks(), {&next[b], 1}, seqs[b].num_tokens(), LogitsMode::kLast};
    }
    s = engine.Step(pool, steps, &logits);
    for (int32_t b = 0; b < batch; ++b) {
      seqs[b].Advance(1);
      next[b] = (next[b] * 31 + 7) % vocab;
    }
  }
  seconds.generation = SecondsSince(start);
  for (BlockTable& seq : seqs) {
    if (absl::Status r = seq.Release(pool); s.ok()) s = r;
  }
  RETURN_IF_ERROR(s);
  return seconds;
}

absl::Status RunSingle(const BenchOptions& o, Engine& engine, KvPool& pool, BenchResult* result) {
  if (o.n_prompt > 0) {
    RETURN_IF_ERROR(TimePrompt(engine, pool, o.n_prompt).status());  // warm-up
    std::vector<double> tps;
    for (int32_t r = 0; r < o.repetitions; ++r) {
      ASSIGN_OR_RETURN(double s, TimePrompt(engine, pool, o.n_prompt));
      tps.push_back(o.n_prompt / s);
    }
    result->pp = Summarize(tps);
  }
  if (o.n_gen > 0) {
    RETURN_IF_ERROR(TimeGeneration(engine, pool, std::min(o.n_gen, 16)).status());  // warm-up
    std::vector<double> tps;
    for (int32_t r = 0; r < o.repetitions; ++r) {
      ASSIGN_OR_RETURN(double s, TimeGeneration(engine, pool, o.n_gen));
      tps.push_back(o.n_gen / s);
    }
    result->tg = Summarize(tps);
  }
  return absl::OkStatus();
}

absl::Status RunBatched(const BenchOptions& o, Engine& engine, KvPool& pool,
                        BenchResult* result) {
  // Warm-up (pages the weights in, sizes the scratch): short prompts, a few decode steps.
  RETURN_IF_ERROR(
      TimeBatched(engine, pool, o.batch, std::min(o.n_prompt, 16), std::min(o.n_gen, 4)).status());
  std::vector<double> pp, tg;
  for (int32_t r = 0; r < o.repetitions; ++r) {
    ASSIGN_OR_RETURN(BatchedSeconds s, TimeBatched(engine, pool, o.batch, o.n_prompt, o.n_gen));
    if (o.n_prompt > 0) pp.push_back(static_cast<double>(o.batch) * o.n_prompt / s.prompt);
    if (o.n_gen > 0) tg.push_back(static_cast<double>(o.batch) * o.n_gen / s.generation);
  }
  result->pp = Summarize(pp);
  result->tg = Summarize(tg);
  return absl::OkStatus();
}

std::string Megabytes(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MB", bytes / 1e6);
  return buf;
}

}  // namespace

double DecodeBandwidth(int64_t weight_bytes_per_step, double tokens_per_second, int32_t batch) {
  return static_cast<double>(weight_bytes_per_step) * tokens_per_second / std::max(batch, 1);
}

absl::StatusOr<BenchResult> RunBench(const BenchOptions& o) {
  if (o.n_prompt < 0 || o.n_gen < 0 || o.batch < 0 || o.repetitions < 1) {
    return absl::InvalidArgumentError(
        "n_prompt, n_gen, batch >= 0 and repetitions >= 1 required");
  }
  if (o.batch > 0 && o.n_prompt + o.n_gen == 0) {
    return absl::InvalidArgumentError("--batch needs prompt or generated tokens");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::Load(o.model_path));
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                   Engine::Create(model, {.num_threads = o.threads}));
  const KvLayout layout = engine->MakeKvLayout(o.kv_dtype, 16);
  const int32_t sequences = std::max(o.batch, 1);
  const int32_t per_sequence = o.batch > 0 ? layout.BlocksFor(o.n_prompt + o.n_gen)
                                           : layout.BlocksFor(std::max(o.n_prompt, o.n_gen));
  ASSIGN_OR_RETURN(std::unique_ptr<KvPool> pool,
                   KvPool::Create(layout, sequences * per_sequence + 1));
  BenchResult result;
  result.model_description = model->config().DebugString();
  std::error_code ec;
  result.file_bytes = static_cast<int64_t>(std::filesystem::file_size(o.model_path, ec));
  result.weight_bytes_per_step = DecodeWeightBytesPerToken(*model);
  if (o.batch > 0) {
    RETURN_IF_ERROR(RunBatched(o, *engine, *pool, &result));
  } else {
    RETURN_IF_ERROR(RunSingle(o, *engine, *pool, &result));
  }
  if (absl::StatusOr<ProcessMemory> mem = ReadProcessMemory(); mem.ok()) {
    result.peak_resident_bytes = mem->peak_resident_bytes;
    result.resident_bytes = mem->resident_bytes;
  }
  return result;
}

std::string FormatBench(const BenchOptions& o, const BenchResult& r) {
  std::string out = "model: " + r.model_description + "\n";
  char line[320];
  if (o.batch > 0) {
    out += "| threads | kv | PP | TG | B | S_PP t/s | S_TG t/s |\n|---|---|---|---|---|---|---|\n";
    std::snprintf(line, sizeof(line), "| %d | %s | %d | %d | %d | %.2f ± %.2f | %.2f ± %.2f |\n",
                  o.threads, KvDTypeName(o.kv_dtype), o.n_prompt, o.n_gen, o.batch,
                  r.pp.mean_tokens_per_second, r.pp.stddev_tokens_per_second,
                  r.tg.mean_tokens_per_second, r.tg.stddev_tokens_per_second);
    out += line;
  } else {
    out += "| threads | kv | test | t/s |\n|---|---|---|---|\n";
    auto row = [&](const char* test, int32_t n, const BenchFigure& f) {
      std::snprintf(line, sizeof(line), "| %d | %s | %s%d | %.2f ± %.2f |\n", o.threads,
                    KvDTypeName(o.kv_dtype), test, n, f.mean_tokens_per_second,
                    f.stddev_tokens_per_second);
      out += line;
    };
    if (o.n_prompt > 0) row("pp", o.n_prompt, r.pp);
    if (o.n_gen > 0) row("tg", o.n_gen, r.tg);
  }
  if (r.file_bytes > 0 && r.peak_resident_bytes > 0) {
    out += "resident: peak " + Megabytes(r.peak_resident_bytes) + ", now " +
           Megabytes(r.resident_bytes) + ", file " + Megabytes(r.file_bytes);
    std::snprintf(line, sizeof(line), " (peak %.2fx the file)\n",
                  static_cast<double>(r.peak_resident_bytes) / r.file_bytes);
    out += line;
  }
  if (o.n_gen > 0) {
    const double bw =
        DecodeBandwidth(r.weight_bytes_per_step, r.tg.mean_tokens_per_second, std::max(o.batch, 1));
    std::snprintf(line, sizeof(line), "decode weight traffic: %s per step, %.2f GB/s",
                  Megabytes(r.weight_bytes_per_step).c_str(), bw / 1e9);
    out += line;
    if (o.bound_bytes_per_second > 0) {
      std::snprintf(line, sizeof(line), " = %.0f%% of %.1f GB/s", 100 * bw / o.bound_bytes_per_second,
                    o.bound_bytes_per_second / 1e9);
      out += line;
    }
    out += "\n";
  }
  return out;
}

}  // namespace baton::engine::tools
