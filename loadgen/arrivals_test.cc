#include "loadgen/arrivals.h"

#include <cmath>
#include <vector>

#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::loadgen {
namespace {

using ::baton::testing::StatusIs;

std::vector<double> Times(ArrivalOptions options, int n) {
  absl::StatusOr<Arrivals> arrivals = Arrivals::Create(options);
  EXPECT_TRUE(arrivals.ok()) << arrivals.status();
  std::vector<double> times;
  for (int i = 0; i < n; ++i) times.push_back(arrivals->NextSendSeconds());
  return times;
}

TEST(ArrivalsTest, FixedRateIsEvenlySpaced) {
  const std::vector<double> times = Times({.kind = ArrivalKind::kFixedRate, .rate = 4}, 5);
  for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(times[i], i * 0.25);
}

TEST(ArrivalsTest, PoissonHasTheRateAndExponentialGaps) {
  const int n = 20000;
  const std::vector<double> times = Times({.kind = ArrivalKind::kPoisson, .rate = 5, .seed = 3}, n);
  EXPECT_NEAR((n - 1) / times.back(), 5, 0.15);  // 3% at 20000 draws is > 4 sigma
  // Exponential gaps: as many above the mean as e^-1 of them.
  int above_mean = 0;
  for (int i = 1; i < n; ++i) above_mean += times[i] - times[i - 1] > 0.2;
  EXPECT_NEAR(static_cast<double>(above_mean) / (n - 1), std::exp(-1.0), 0.02);
  EXPECT_EQ(times, Times({.kind = ArrivalKind::kPoisson, .rate = 5, .seed = 3}, n));
  EXPECT_NE(times, Times({.kind = ArrivalKind::kPoisson, .rate = 5, .seed = 4}, n));
}

TEST(ArrivalsTest, BurstsShareASendTimeAndKeepTheMeanRate) {
  const std::vector<double> times =
      Times({.kind = ArrivalKind::kFixedRate, .rate = 6, .burst = 3}, 9);
  EXPECT_EQ(times, (std::vector<double>{0, 0, 0, 0.5, 0.5, 0.5, 1, 1, 1}));
}

TEST(ArrivalsTest, RejectsBadOptions) {
  EXPECT_THAT(Arrivals::Create({.kind = ArrivalKind::kPoisson, .rate = 0}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Arrivals::Create({.kind = ArrivalKind::kFixedRate, .burst = 0}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Arrivals::Create({.kind = ArrivalKind::kClosedLoop, .concurrency = 0}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseArrivalKind("bursty").status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::loadgen
