#include "common/status_macros.h"

#include <memory>
#include <string>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::common {
namespace {

using ::baton::testing::IsOk;
using ::baton::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

absl::Status FailIf(bool fail, int* calls) {
  ++*calls;
  return fail ? absl::DataLossError("corrupt") : absl::OkStatus();
}

absl::Status UsesReturnIfError(bool fail, int* calls, bool* reached_end) {
  RETURN_IF_ERROR(FailIf(fail, calls));
  *reached_end = true;
  return absl::OkStatus();
}

TEST(ReturnIfErrorTest, PassesThroughOkAndEvaluatesOnce) {
  int calls = 0;
  bool reached_end = false;
  EXPECT_OK(UsesReturnIfError(false, &calls, &reached_end));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(reached_end);
}

TEST(ReturnIfErrorTest, ReturnsTheErrorEarly) {
  int calls = 0;
  bool reached_end = false;
  EXPECT_THAT(UsesReturnIfError(true, &calls, &reached_end),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupt")));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(reached_end);
}

absl::StatusOr<std::unique_ptr<int>> MakeInt(int value) {
  if (value < 0) return absl::InvalidArgumentError("negative");
  return std::make_unique<int>(value);
}

absl::StatusOr<int> Doubled(int value) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> p, MakeInt(value));  // move-only value
  return *p * 2;
}

absl::StatusOr<int> SumTwo(int a, int b) {
  int total = 0;
  ASSIGN_OR_RETURN(total, Doubled(a));  // existing variable
  ASSIGN_OR_RETURN(const int second, Doubled(b));  // two in one scope
  return total + second;
}

TEST(AssignOrReturnTest, AssignsValues) {
  EXPECT_EQ(*Doubled(21), 42);
  EXPECT_EQ(*SumTwo(1, 2), 6);
}

TEST(AssignOrReturnTest, ReturnsError) {
  EXPECT_THAT(Doubled(-1), StatusIs(absl::StatusCode::kInvalidArgument, "negative"));
  EXPECT_THAT(SumTwo(1, -2), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StatusIsTest, DistinguishesCodesAndMessages) {
  const absl::Status status = absl::UnavailableError("peer gone");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kDataLoss)));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kUnavailable, HasSubstr("alive"))));
  EXPECT_THAT(status, Not(IsOk()));
  EXPECT_THAT(absl::OkStatus(), IsOk());
  absl::StatusOr<int> value = 3;
  EXPECT_THAT(value, IsOk());
  absl::StatusOr<int> error = absl::AbortedError("x");
  EXPECT_THAT(error, StatusIs(absl::StatusCode::kAborted));
}

TEST(StatusIsTest, ExplainsMismatch) {
  ::testing::Matcher<const absl::Status&> matcher = StatusIs(absl::StatusCode::kDataLoss);
  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(matcher.MatchAndExplain(absl::UnavailableError("gone"), &listener));
  EXPECT_THAT(listener.str(), HasSubstr("UNAVAILABLE"));
}

TEST(AssertOkAndAssignTest, Works) {
  ASSERT_OK_AND_ASSIGN(const int v, Doubled(5));
  EXPECT_EQ(v, 10);
}

}  // namespace
}  // namespace baton::common
