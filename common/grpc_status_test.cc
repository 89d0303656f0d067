#include "common/grpc_status.h"

#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::common {
namespace {

using ::baton::testing::StatusIs;

TEST(GrpcStatusTest, EveryCanonicalCodeRoundTrips) {
  for (int code = 0; code <= static_cast<int>(absl::StatusCode::kUnauthenticated); ++code) {
    const absl::Status original(static_cast<absl::StatusCode>(code), code == 0 ? "" : "why");
    const grpc::Status wire = ToGrpcStatus(original);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(FromGrpcStatus(wire), original) << code;
  }
}

TEST(GrpcStatusTest, KeepsMeaningOfCodesCallersActOn) {
  EXPECT_EQ(ToGrpcStatus(absl::ResourceExhaustedError("no KV blocks")).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("peer died")).error_message(), "peer died");
  EXPECT_THAT(FromGrpcStatus(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "late")),
              StatusIs(absl::StatusCode::kDeadlineExceeded, "late"));
}

TEST(GrpcStatusTest, OutOfRangeCodeIsUnknownNotOk) {
  EXPECT_THAT(FromGrpcStatus(grpc::Status(static_cast<grpc::StatusCode>(99), "odd")),
              StatusIs(absl::StatusCode::kUnknown, "odd"));
}

}  // namespace
}  // namespace baton::common
