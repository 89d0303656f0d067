// Token-length distributions of synthetic workloads, parsed from a short spec:
//   "128"               fixed at 128 (also "fixed:128")
//   "uniform:64:256"    uniform integers in [64, 256]
//   "normal:128:32"     normal with mean 128 and standard deviation 32, rounded
// Every draw is clamped to [1, max_tokens]. Immutable; Sample uses the caller's generator.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace baton::loadgen {

class LengthDistribution {
 public:
  // kInvalidArgument (naming `spec`) for an unknown kind, a bad number, min > max, a length < 1
  // or a negative standard deviation.
  static absl::StatusOr<LengthDistribution> Parse(absl::string_view spec);

  int32_t Sample(std::mt19937_64& rng) const;
  double mean() const;
  std::string ToString() const;

 private:
  enum class Kind { kFixed, kUniform, kNormal };
  LengthDistribution(Kind kind, double a, double b) : kind_(kind), a_(a), b_(b) {}

  Kind kind_;
  double a_;  // fixed value, uniform min, or normal mean
  double b_;  // uniform max or normal standard deviation
};

}  // namespace baton::loadgen
