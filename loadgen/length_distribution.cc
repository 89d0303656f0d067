#include "loadgen/length_distribution.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace baton::loadgen {
namespace {

constexpr int32_t kMaxTokens = 1 << 20;

absl::Status Bad(absl::string_view spec, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("length distribution '", spec, "': ", why,
                                                 " (want N, uniform:MIN:MAX or normal:MEAN:SD)"));
}

}  // namespace

absl::StatusOr<LengthDistribution> LengthDistribution::Parse(absl::string_view spec) {
  std::vector<absl::string_view> parts = absl::StrSplit(spec, ':');
  if (parts.size() == 1) parts.insert(parts.begin(), "fixed");
  std::vector<double> numbers;
  for (size_t i = 1; i < parts.size(); ++i) {
    double value = 0;
    if (!absl::SimpleAtod(parts[i], &value) || !std::isfinite(value)) {
      return Bad(spec, absl::StrCat("'", parts[i], "' is not a number"));
    }
    numbers.push_back(value);
  }
  const absl::string_view kind = parts[0];
  if (kind == "fixed" && numbers.size() == 1) {
    if (numbers[0] < 1) return Bad(spec, "lengths must be at least 1");
    return LengthDistribution(Kind::kFixed, std::round(numbers[0]), 0);
  }
  if (kind == "uniform" && numbers.size() == 2) {
    if (numbers[0] < 1) return Bad(spec, "lengths must be at least 1");
    if (numbers[0] > numbers[1]) return Bad(spec, "min is above max");
    return LengthDistribution(Kind::kUniform, std::round(numbers[0]), std::round(numbers[1]));
  }
  if (kind == "normal" && numbers.size() == 2) {
    if (numbers[0] < 1) return Bad(spec, "the mean must be at least 1");
    if (numbers[1] < 0) return Bad(spec, "the standard deviation is negative");
    return LengthDistribution(Kind::kNormal, numbers[0], numbers[1]);
  }
  return Bad(spec, "unknown kind or wrong number of values");
}

int32_t LengthDistribution::Sample(std::mt19937_64& rng) const {
  double value = a_;
  switch (kind_) {
    case Kind::kFixed:
      break;
    case Kind::kUniform:
      value = static_cast<double>(std::uniform_int_distribution<int64_t>(
          static_cast<int64_t>(a_), static_cast<int64_t>(b_))(rng));
      break;
    case Kind::kNormal:
      value = std::round(std::normal_distribution<double>(a_, b_)(rng));
      break;
  }
  return static_cast<int32_t>(std::clamp<double>(value, 1, kMaxTokens));
}

double LengthDistribution::mean() const { return kind_ == Kind::kUniform ? (a_ + b_) / 2 : a_; }

std::string LengthDistribution::ToString() const {
  switch (kind_) {
    case Kind::kFixed:
      return absl::StrCat(a_);
    case Kind::kUniform:
      return absl::StrCat("uniform:", a_, ":", b_);
    case Kind::kNormal:
      return absl::StrCat("normal:", a_, ":", b_);
  }
  return "";
}

}  // namespace baton::loadgen
