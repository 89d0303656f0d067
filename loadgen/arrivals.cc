#include "loadgen/arrivals.h"

#include "absl/strings/str_cat.h"

namespace baton::loadgen {

absl::StatusOr<ArrivalKind> ParseArrivalKind(absl::string_view name) {
  if (name == "poisson") return ArrivalKind::kPoisson;
  if (name == "fixed") return ArrivalKind::kFixedRate;
  if (name == "closed") return ArrivalKind::kClosedLoop;
  return absl::InvalidArgumentError(
      absl::StrCat("arrivals '", name, "': want poisson, fixed or closed"));
}

std::string ArrivalKindName(ArrivalKind kind) {
  switch (kind) {
    case ArrivalKind::kPoisson:
      return "poisson";
    case ArrivalKind::kFixedRate:
      return "fixed";
    case ArrivalKind::kClosedLoop:
      return "closed";
  }
  return "";
}

absl::StatusOr<Arrivals> Arrivals::Create(const ArrivalOptions& options) {
  if (options.kind == ArrivalKind::kClosedLoop) {
    if (options.concurrency < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("concurrency must be at least 1, not ", options.concurrency));
    }
  } else {
    if (!(options.rate > 0)) {
      return absl::InvalidArgumentError(absl::StrCat("rate must be above 0, not ", options.rate));
    }
    if (options.burst < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("burst must be at least 1, not ", options.burst));
    }
  }
  return Arrivals(options);
}

double Arrivals::NextSendSeconds() {
  // A burst of `burst` requests shares one send time; bursts arrive at rate / burst so that the
  // mean request rate is `rate`.
  if (sent_ > 0 && sent_ % options_.burst == 0) {
    const double burst_rate = options_.rate / options_.burst;
    burst_start_s_ += options_.kind == ArrivalKind::kPoisson
                          ? std::exponential_distribution<double>(burst_rate)(rng_)
                          : 1.0 / burst_rate;
  }
  ++sent_;
  return burst_start_s_;
}

}  // namespace baton::loadgen
