// When requests are sent. Open loop: a seeded schedule of send times (Poisson arrivals at a rate,
// or evenly spaced at a fixed rate), optionally in bursts of several requests sent at once, the
// bursts spaced so that the mean rate stays `rate`. Closed loop: a fixed number of requests in
// flight, each completion sending the next (the runner does that; the schedule only says so).
// Not thread-safe: one Arrivals per run, used by the runner's dispatch thread.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace baton::loadgen {

enum class ArrivalKind { kPoisson, kFixedRate, kClosedLoop };

struct ArrivalOptions {
  ArrivalKind kind = ArrivalKind::kPoisson;
  double rate = 1;          // requests per second (open loop)
  int32_t burst = 1;        // requests sent together (open loop)
  int32_t concurrency = 1;  // requests in flight (closed loop)
  uint64_t seed = 0;
};

// "poisson", "fixed" or "closed"; kInvalidArgument otherwise.
absl::StatusOr<ArrivalKind> ParseArrivalKind(absl::string_view name);
std::string ArrivalKindName(ArrivalKind kind);

class Arrivals {
 public:
  // kInvalidArgument for a rate <= 0 (open loop), a burst < 1 or a concurrency < 1 (closed).
  static absl::StatusOr<Arrivals> Create(const ArrivalOptions& options);

  bool closed_loop() const { return options_.kind == ArrivalKind::kClosedLoop; }
  int32_t concurrency() const { return options_.concurrency; }

  // Open loop: the send time of the next request, in seconds after the first (which is 0).
  // Nondecreasing; the same seed gives the same sequence.
  double NextSendSeconds();

 private:
  explicit Arrivals(const ArrivalOptions& options) : options_(options), rng_(options.seed) {}

  ArrivalOptions options_;
  std::mt19937_64 rng_;
  int64_t sent_ = 0;
  double burst_start_s_ = 0;
};

}  // namespace baton::loadgen
