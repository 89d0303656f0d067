#include "engine/runtime/generate.h"

#include <algorithm>
#include <chrono>

#include "common/status_macros.h"
#include "engine/kv_cache/block_table.h"

namespace baton::engine {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

absl::StatusOr<GenerateResult> Generate(Engine& engine, std::span<const int32_t> prompt,
                                        const GenerateOptions& options) {
  if (prompt.empty()) return absl::InvalidArgumentError("empty prompt");
  if (options.max_tokens < 0) return absl::InvalidArgumentError("max_tokens must be >= 0");
  ASSIGN_OR_RETURN(std::unique_ptr<Sampler> sampler, Sampler::Create(options.sampling));
  const int64_t total = static_cast<int64_t>(prompt.size()) + options.max_tokens;
  const KvLayout layout = engine.MakeKvLayout(options.kv_dtype, options.block_size_tokens);
  ASSIGN_OR_RETURN(std::unique_ptr<KvPool> pool,
                   KvPool::Create(layout, std::max(1, layout.BlocksFor(total))));
  BlockTable seq;
  RETURN_IF_ERROR(seq.Reserve(*pool, total));

  GenerateResult result;
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  StepLogits logits;
  auto start = std::chrono::steady_clock::now();
  SequenceStep step{seq.blocks(), prompt, 0, LogitsMode::kLast};
  RETURN_IF_ERROR(engine.Step(*pool, {&step, 1}, &logits));
  seq.Advance(static_cast<int32_t>(prompt.size()));
  result.prefill_seconds = SecondsSince(start);
  result.first_logits.assign(logits.Row(0).begin(), logits.Row(0).end());

  start = std::chrono::steady_clock::now();
  for (int32_t i = 0; i < options.max_tokens; ++i) {
    SampleResult s = sampler->Sample(logits.Row(0), history);
    const int32_t token = s.token;
    result.tokens.push_back(token);
    result.samples.push_back(std::move(s));
    history.push_back(token);
    if (i + 1 == options.max_tokens ||
        std::find(options.stop_tokens.begin(), options.stop_tokens.end(), token) !=
            options.stop_tokens.end()) {
      break;
    }
    SequenceStep decode{seq.blocks(), {&history.back(), 1}, seq.num_tokens(), LogitsMode::kLast};
    RETURN_IF_ERROR(engine.Step(*pool, {&decode, 1}, &logits));
    seq.Advance(1);
    ++result.decode_steps;
  }
  result.decode_seconds = SecondsSince(start);
  return result;
}

}  // namespace baton::engine
