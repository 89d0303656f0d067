#include "loadgen/sse_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace baton::loadgen {
namespace {

using Payloads = std::vector<std::string>;

TEST(SseParserTest, SplitsEventsHoweverTheBytesArrive) {
  const std::string stream =
      "data: {\"a\":1}\n\n: a comment\n\ndata: two\ndata: lines\n\nevent: x\r\ndata: "
      "[DONE]\r\n\r\n";
  const Payloads expected = {"{\"a\":1}", "two\nlines", "[DONE]"};
  SseParser whole;
  EXPECT_EQ(whole.Feed(stream), expected);
  SseParser bytewise;
  Payloads got;
  for (char c : stream) {
    for (std::string& payload : bytewise.Feed(std::string(1, c))) got.push_back(payload);
  }
  EXPECT_EQ(got, expected);
}

TEST(SseParserTest, HoldsAnUnfinishedEvent) {
  SseParser parser;
  EXPECT_TRUE(parser.Feed("data: par").empty());
  EXPECT_EQ(parser.Feed("tial\n\n"), Payloads{"partial"});
}

}  // namespace
}  // namespace baton::loadgen
