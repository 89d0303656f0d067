#include "router/worker_addresses.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::router {
namespace {

using ::baton::testing::StatusIs;
using ::testing::HasSubstr;

TEST(WorkerAddressesTest, ParsesStaticAndDnsEntries) {
  ASSERT_OK_AND_ASSIGN(std::vector<WorkerAddressEntry> entries,
                       ParseWorkerAddresses("127.0.0.1:5001, dns:///decode.svc:6000,,[::1]:7"));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_FALSE(entries[0].dns);
  EXPECT_EQ(entries[0].host_port, "127.0.0.1:5001");
  EXPECT_TRUE(entries[1].dns);
  EXPECT_EQ(entries[1].name, "decode.svc");
  EXPECT_EQ(entries[1].port, 6000);
  EXPECT_EQ(entries[2].host_port, "[::1]:7");
}

TEST(WorkerAddressesTest, RejectsBadEntries) {
  EXPECT_THAT(ParseWorkerAddresses("localhost"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("localhost")));
  EXPECT_THAT(ParseWorkerAddresses("a:0"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseWorkerAddresses("a:70000"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseWorkerAddresses("http://a:1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dns:///")));
  EXPECT_THAT(ParseWorkerAddresses("dns:///name"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(WorkerAddressesTest, DnsResolverResolvesLocalhost) {
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> addresses, DnsResolver()("localhost", 80));
  EXPECT_THAT(addresses, ::testing::Contains(::testing::AnyOf("127.0.0.1:80", "[::1]:80")));
  EXPECT_THAT(DnsResolver()("no-such-host.invalid", 80),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace baton::router
