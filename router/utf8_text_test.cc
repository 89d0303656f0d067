#include "router/utf8_text.h"

#include "gtest/gtest.h"

namespace baton::router {
namespace {

TEST(Utf8TextTest, KeepsWellFormedText) {
  EXPECT_EQ(ValidUtf8("plain"), "plain");
  EXPECT_EQ(ValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(ValidUtf8(""), "");
}

TEST(Utf8TextTest, ReplacesEachBadByte) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(ValidUtf8("a\x80z"), "a" + fffd + "z");              // lone continuation
  EXPECT_EQ(ValidUtf8("\xC3"), fffd);                               // truncated
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), fffd + fffd);                    // overlong '/'
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), fffd + fffd + fffd);         // surrogate
  EXPECT_EQ(ValidUtf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(ValidUtf8("\xFFok"), fffd + "ok");
}

}  // namespace
}  // namespace baton::router
