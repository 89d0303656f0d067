#include "serving/advertise.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::serving {
namespace {

using ::testing::Contains;
using ::testing::Pair;

TEST(AdvertiseTest, FlagThenPodIpThenListenHost) {
  ASSERT_OK_AND_ASSIGN(std::string a, AdvertiseHost("10.0.0.7", "10.1.1.1", "0.0.0.0"));
  EXPECT_EQ(a, "10.0.0.7");
  ASSERT_OK_AND_ASSIGN(std::string b, AdvertiseHost("", "10.1.1.1", "0.0.0.0"));
  EXPECT_EQ(b, "10.1.1.1");
  ASSERT_OK_AND_ASSIGN(std::string c, AdvertiseHost("", "", "127.0.0.1"));
  EXPECT_EQ(c, "127.0.0.1");
}

TEST(AdvertiseTest, WildcardNeverAdvertisesLoopback) {
  absl::StatusOr<std::string> host = AdvertiseHost("", "", "0.0.0.0");
  if (!host.ok()) {
    // A machine with only loopback: the error says what to pass.
    EXPECT_THAT(host.status(), baton::testing::StatusIs(absl::StatusCode::kNotFound));
    return;
  }
  EXPECT_NE(*host, "127.0.0.1");
  EXPECT_NE(host->rfind("127.", 0), 0u) << *host;
  EXPECT_OK(InterfaceOf(*host).status());
}

TEST(AdvertiseTest, UcxDevicesFollowTheAdvertisedHost) {
  EXPECT_THAT(UcxSettingsFor({{"TLS", "tcp"}}, "", "127.0.0.1"), Contains(Pair("NET_DEVICES", "lo")));
  // An explicit choice wins, in the settings or in the environment.
  EXPECT_THAT(UcxSettingsFor({{"NET_DEVICES", "eth9"}}, "", "127.0.0.1"),
              ::testing::ElementsAre(Pair("NET_DEVICES", "eth9")));
  EXPECT_TRUE(UcxSettingsFor({}, "eth9", "127.0.0.1").empty());
  // Not a local address: nothing to pin.
  EXPECT_TRUE(UcxSettingsFor({}, "", "192.0.2.250").empty());
  EXPECT_THAT(InterfaceOf("192.0.2.250").status(),
              baton::testing::StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace baton::serving
