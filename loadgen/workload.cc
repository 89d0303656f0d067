#include "loadgen/workload.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace baton::loadgen {

absl::StatusOr<std::unique_ptr<SyntheticWorkload>> SyntheticWorkload::Create(
    const PromptBuilder* builder, const SyntheticOptions& options) {
  if (options.prefix_groups < 0 || options.prefix_tokens < 0) {
    return absl::InvalidArgumentError("prefix groups and prefix tokens cannot be negative");
  }
  if (options.prefix_groups > 0 && options.prefix_tokens < 1) {
    return absl::InvalidArgumentError("shared-prefix groups need a prefix of at least 1 token");
  }
  std::unique_ptr<SyntheticWorkload> workload(new SyntheticWorkload(builder, options));
  for (int32_t g = 0; g < options.prefix_groups; ++g) {
    ASSIGN_OR_RETURN(std::string prefix, builder->Build(options.prefix_tokens, workload->rng_));
    workload->prefixes_.push_back(std::move(prefix));
  }
  return workload;
}

absl::StatusOr<RequestSpec> SyntheticWorkload::Next() {
  RequestSpec spec;
  spec.prompt_tokens = options_.input_tokens.Sample(rng_);
  spec.output_tokens = options_.output_tokens.Sample(rng_);
  std::string prefix;
  if (!prefixes_.empty()) {
    spec.prefix_group =
        static_cast<int32_t>(std::uniform_int_distribution<size_t>(0, prefixes_.size() - 1)(rng_));
    prefix = prefixes_[spec.prefix_group];
    spec.prompt_tokens = std::max(spec.prompt_tokens, options_.prefix_tokens + 1);
  } else {
    // The router rejects an empty prompt: at least BOS plus one token of text.
    spec.prompt_tokens = std::max(spec.prompt_tokens, 2);
  }
  ASSIGN_OR_RETURN(spec.prompt, builder_->Build(spec.prompt_tokens, rng_, prefix));
  return spec;
}

absl::StatusOr<std::unique_ptr<DatasetWorkload>> DatasetWorkload::Create(
    std::vector<RequestSpec> entries, int32_t default_output_tokens, uint64_t seed) {
  if (entries.empty()) return absl::InvalidArgumentError("the dataset has no usable entries");
  for (RequestSpec& spec : entries) {
    if (spec.output_tokens <= 0) spec.output_tokens = default_output_tokens;
  }
  std::mt19937_64 rng(seed);
  std::shuffle(entries.begin(), entries.end(), rng);
  return std::unique_ptr<DatasetWorkload>(new DatasetWorkload(std::move(entries)));
}

absl::StatusOr<RequestSpec> DatasetWorkload::Next() {
  RequestSpec spec = entries_[next_];
  next_ = (next_ + 1) % entries_.size();
  return spec;
}

}  // namespace baton::loadgen
