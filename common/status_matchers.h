// GoogleTest matchers for absl::Status / absl::StatusOr (GoogleTest 1.12 has none).
//   EXPECT_THAT(DoIt(), StatusIs(absl::StatusCode::kDataLoss));
//   EXPECT_THAT(DoIt(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("offset")));
//   EXPECT_THAT(Parse(), IsOk());
//   ASSERT_OK_AND_ASSIGN(auto value, Parse());
// Test-only; no threading concerns.
#pragma once

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::testing {
namespace internal {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

template <typename StatusType>
class StatusIsMatcherImpl : public ::testing::MatcherInterface<const StatusType&> {
 public:
  StatusIsMatcherImpl(absl::StatusCode code, ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  bool MatchAndExplain(const StatusType& value,
                       ::testing::MatchResultListener* listener) const override {
    const absl::Status& status = GetStatus(value);
    if (status.code() != code_) {
      *listener << "whose code is " << absl::StatusCodeToString(status.code()) << " ("
                << status.message() << ")";
      return false;
    }
    const std::string message(status.message());
    ::testing::StringMatchResultListener inner;
    if (!message_.MatchAndExplain(message, &inner)) {
      *listener << "whose message \"" << message << "\" does not match";
      return false;
    }
    return true;
  }

  void DescribeTo(std::ostream* os) const override {
    *os << "has code " << absl::StatusCodeToString(code_) << " and a message that ";
    message_.DescribeTo(os);
  }

  void DescribeNegationTo(std::ostream* os) const override {
    *os << "does not have code " << absl::StatusCodeToString(code_)
        << " or has a message that ";
    message_.DescribeNegationTo(os);
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
};

class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code, ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  template <typename StatusType>
  operator ::testing::Matcher<const StatusType&>() const {  // NOLINT: implicit by design
    return ::testing::Matcher<const StatusType&>(
        new StatusIsMatcherImpl<StatusType>(code_, message_));
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
};

}  // namespace internal

// Matches an absl::Status or absl::StatusOr<T> whose code is `code` and whose message matches
// `message` (any message by default).
inline internal::StatusIsMatcher StatusIs(
    absl::StatusCode code, ::testing::Matcher<const std::string&> message = ::testing::_) {
  return internal::StatusIsMatcher(code, std::move(message));
}

inline internal::StatusIsMatcher IsOk() {
  return internal::StatusIsMatcher(absl::StatusCode::kOk, ::testing::_);
}

}  // namespace baton::testing

#define BATON_TEST_CONCAT_INNER_(a, b) a##b
#define BATON_TEST_CONCAT_(a, b) BATON_TEST_CONCAT_INNER_(a, b)

#define EXPECT_OK(expr) EXPECT_THAT((expr), ::baton::testing::IsOk())
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::baton::testing::IsOk())

// ASSERT_OK_AND_ASSIGN(lhs, expr): asserts `expr` (a StatusOr) is OK and moves its value to lhs.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  BATON_ASSERT_OK_AND_ASSIGN_IMPL_(BATON_TEST_CONCAT_(baton_test_statusor_, __LINE__), lhs, expr)
#define BATON_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                     \
  ASSERT_THAT(statusor.status(), ::baton::testing::IsOk());   \
  lhs = std::move(statusor).value()
