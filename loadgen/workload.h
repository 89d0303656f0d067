// Where a run's requests come from: an endless, seeded sequence of RequestSpecs. Two sources:
// SyntheticWorkload (token-exact random prompts with drawn input/output lengths, optionally in
// shared-prefix groups) and DatasetWorkload (prompts read from a file, cycled in a seeded order).
//
// Not thread-safe: the runner's dispatch thread calls Next.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "loadgen/length_distribution.h"
#include "loadgen/prompt_builder.h"
#include "loadgen/request_spec.h"

namespace baton::loadgen {

class Workload {
 public:
  virtual ~Workload() = default;
  // The next request. kInvalidArgument when a prompt cannot be built (e.g. a length the
  // tokenizer cannot hit).
  virtual absl::StatusOr<RequestSpec> Next() = 0;
};

struct SyntheticOptions {
  LengthDistribution input_tokens = *LengthDistribution::Parse("128");
  LengthDistribution output_tokens = *LengthDistribution::Parse("128");
  // Shared-prefix groups: when prefix_groups > 0, each request joins a random group and starts
  // with that group's prefix of prefix_tokens tokens (its input length is at least that + 1).
  int32_t prefix_groups = 0;
  int32_t prefix_tokens = 0;
  uint64_t seed = 0;
};

class SyntheticWorkload : public Workload {
 public:
  // `builder` must outlive the workload. kInvalidArgument for negative group settings or a
  // prefix that cannot be built.
  static absl::StatusOr<std::unique_ptr<SyntheticWorkload>> Create(const PromptBuilder* builder,
                                                                   const SyntheticOptions& options);
  absl::StatusOr<RequestSpec> Next() override;

 private:
  SyntheticWorkload(const PromptBuilder* builder, const SyntheticOptions& options)
      : builder_(builder), options_(options), rng_(options.seed) {}

  const PromptBuilder* builder_;
  SyntheticOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::string> prefixes_;
};

class DatasetWorkload : public Workload {
 public:
  // Cycles through `entries` in an order shuffled with `seed`; a spec whose output_tokens is 0
  // gets `default_output_tokens`. kInvalidArgument for an empty dataset.
  static absl::StatusOr<std::unique_ptr<DatasetWorkload>> Create(std::vector<RequestSpec> entries,
                                                                 int32_t default_output_tokens,
                                                                 uint64_t seed);
  absl::StatusOr<RequestSpec> Next() override;

 private:
  explicit DatasetWorkload(std::vector<RequestSpec> entries) : entries_(std::move(entries)) {}

  std::vector<RequestSpec> entries_;
  size_t next_ = 0;
};

}  // namespace baton::loadgen
