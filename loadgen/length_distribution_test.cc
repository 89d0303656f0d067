#include "loadgen/length_distribution.h"

#include <cmath>

#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::loadgen {
namespace {

using ::baton::testing::StatusIs;

TEST(LengthDistributionTest, FixedUniformAndNormalDrawWhatTheySay) {
  std::mt19937_64 rng(1);
  ASSERT_OK_AND_ASSIGN(LengthDistribution fixed, LengthDistribution::Parse("64"));
  EXPECT_EQ(fixed.Sample(rng), 64);
  ASSERT_OK_AND_ASSIGN(LengthDistribution uniform, LengthDistribution::Parse("uniform:10:20"));
  ASSERT_OK_AND_ASSIGN(LengthDistribution normal, LengthDistribution::Parse("normal:100:10"));
  double sum = 0, squares = 0;
  bool saw_min = false, saw_max = false;
  const int n = 10000;
  for (int i = 0; i < n; ++i) {
    const int32_t u = uniform.Sample(rng);
    ASSERT_GE(u, 10);
    ASSERT_LE(u, 20);
    saw_min |= u == 10;
    saw_max |= u == 20;
    const double v = normal.Sample(rng);
    sum += v;
    squares += v * v;
  }
  EXPECT_TRUE(saw_min && saw_max);
  const double mean = sum / n;
  EXPECT_NEAR(mean, 100, 0.5);
  EXPECT_NEAR(std::sqrt(squares / n - mean * mean), 10, 0.5);
  EXPECT_DOUBLE_EQ(uniform.mean(), 15);
}

TEST(LengthDistributionTest, ClampsToOneToken) {
  std::mt19937_64 rng(1);
  ASSERT_OK_AND_ASSIGN(LengthDistribution wide, LengthDistribution::Parse("normal:2:50"));
  for (int i = 0; i < 1000; ++i) ASSERT_GE(wide.Sample(rng), 1);
}

TEST(LengthDistributionTest, RejectsBadSpecsNamingThem) {
  for (const char* spec :
       {"", "0", "abc", "uniform:5", "uniform:9:3", "normal:10:-1", "zipf:1:2"}) {
    EXPECT_THAT(LengthDistribution::Parse(spec).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr(spec)))
        << spec;
  }
}

}  // namespace
}  // namespace baton::loadgen
