#include "kvtransfer/ucx/ucx_peer_address.h"

#include <string>

#include "gtest/gtest.h"

namespace baton::kvtransfer {
namespace {

TEST(UcxPeerAddressTest, RoundTrips) {
  const std::string ucp("\x00\x01\x02worker", 9);
  std::optional<PeerAddress> parsed = ParsePeerAddress(PackPeerAddress("boot:abc", ucp));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->host, "boot:abc");
  EXPECT_EQ(parsed->ucp_address, ucp);
}

TEST(UcxPeerAddressTest, RejectsTruncatedOrEmpty) {
  EXPECT_FALSE(ParsePeerAddress("").has_value());
  const std::string packed = PackPeerAddress("boot:abc", "w");
  EXPECT_FALSE(ParsePeerAddress(packed.substr(0, packed.size() - 1)).has_value());  // No UCP part.
  EXPECT_FALSE(ParsePeerAddress(std::string(1, '\x20') + "short").has_value());
}

TEST(UcxPeerAddressTest, HostIdentityIsStableAndNamed) {
  EXPECT_FALSE(HostIdentity().empty());
  EXPECT_EQ(&HostIdentity(), &HostIdentity());
  EXPECT_TRUE(HostIdentity().rfind("boot:", 0) == 0 || HostIdentity().rfind("host:", 0) == 0)
      << HostIdentity();
}

}  // namespace
}  // namespace baton::kvtransfer
