#include "router/api_keys.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::router {
namespace {

using ::baton::testing::IsOk;
using ::baton::testing::StatusIs;

TEST(ApiKeysTest, NoKeysLetsEveryoneIn) {
  ApiKeys keys;
  EXPECT_FALSE(keys.enabled());
  EXPECT_THAT(keys.Check(""), IsOk());
}

TEST(ApiKeysTest, BearerWithAKnownKey) {
  ApiKeys keys = ApiKeys::FromList({"sk-one", "sk-two"});
  EXPECT_THAT(keys.Check("Bearer sk-two"), IsOk());
  EXPECT_THAT(keys.Check("bearer  sk-one "), IsOk());
  EXPECT_THAT(keys.Check(""), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(keys.Check("Bearer sk-three"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(keys.Check("Bearer sk-on"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(keys.Check("Basic sk-one"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(keys.Check("sk-one"), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(ApiKeysTest, FileSkipsCommentsAndBlankLines) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/keys";
  std::ofstream(path) << "# team keys\n\n  sk-a  \nsk-b\n";
  ASSERT_OK_AND_ASSIGN(ApiKeys keys, ApiKeys::FromFile(path));
  EXPECT_THAT(keys.Check("Bearer sk-a"), IsOk());
  EXPECT_THAT(keys.Check("Bearer sk-b"), IsOk());
  EXPECT_THAT(keys.Check("Bearer # team keys"), StatusIs(absl::StatusCode::kUnauthenticated));
  std::ofstream(path) << "# nothing\n";
  EXPECT_THAT(ApiKeys::FromFile(path).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ApiKeys::FromFile(path + ".missing").status(),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace baton::router
