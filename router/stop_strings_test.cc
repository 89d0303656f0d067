#include "router/stop_strings.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace baton::router {
namespace {

// Feeds `pieces` one by one; returns what was emitted, "|" between calls that emitted something.
std::string Stream(StopStringFilter& filter, const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) {
    const std::string emitted = filter.Push(p);
    if (!emitted.empty()) out += (out.empty() ? "" : "|") + emitted;
  }
  const std::string tail = filter.Flush();
  if (!tail.empty()) out += (out.empty() ? "" : "|") + tail;
  return out;
}

TEST(StopStringFilterTest, NoStopsPassesEverythingAtOnce) {
  StopStringFilter filter({});
  EXPECT_EQ(Stream(filter, {"Once", " upon", " a"}), "Once| upon| a");
  EXPECT_FALSE(filter.stopped());
}

TEST(StopStringFilterTest, StopInsideOnePiece) {
  StopStringFilter filter({"END"});
  EXPECT_EQ(Stream(filter, {"Once", " upon ENDa time", " more"}), "Once| upon ");
  EXPECT_TRUE(filter.stopped());
}

TEST(StopStringFilterTest, StopSpanningPiecesIsHeldBackNotRetracted) {
  StopStringFilter filter({"the end"});
  EXPECT_EQ(filter.Push("and so th"), "and so ");  // "th" may begin the stop string.
  EXPECT_EQ(filter.Push("e e"), "");                // "the e" still may.
  EXPECT_EQ(filter.Push("nd!"), "");                // Completed: nothing of it is released.
  EXPECT_TRUE(filter.stopped());
  EXPECT_EQ(filter.Flush(), "");
}

TEST(StopStringFilterTest, FalseStartIsReleased) {
  StopStringFilter filter({"the end"});
  EXPECT_EQ(filter.Push("and so th"), "and so ");
  EXPECT_EQ(filter.Push("e cat"), "the ca");  // "t" may begin the stop string again.
  EXPECT_EQ(filter.Push(" sat th"), "t sat ");
  EXPECT_EQ(filter.Flush(), "th");  // The stream ended: what was held back is text after all.
  EXPECT_FALSE(filter.stopped());
}

TEST(StopStringFilterTest, EarliestOfSeveralStopsWins) {
  StopStringFilter filter({"world", "lo w", "\n\n"});
  EXPECT_EQ(Stream(filter, {"hel", "lo wor", "ld"}), "he|l");  // "l" could begin "lo w".
  StopStringFilter second({"xyz", "\n\n"});
  EXPECT_EQ(Stream(second, {"a\n", "\nb"}), "a");
}

TEST(StopStringFilterTest, StopAtTheVeryStartEmitsNothing) {
  StopStringFilter filter({"Once"});
  EXPECT_EQ(Stream(filter, {"On", "ce upon"}), "");
  EXPECT_TRUE(filter.stopped());
}

TEST(StopStringFilterTest, MultibyteStopAndText) {
  StopStringFilter filter({"é!"});
  EXPECT_EQ(filter.Push("café"), "caf");  // "é" begins the stop string.
  EXPECT_EQ(filter.Push("?"), "é?");
  EXPECT_EQ(Stream(filter, {"né", "!x"}), "n");
}

TEST(StopStringFilterTest, EmptyStopStringsAreIgnored) {
  StopStringFilter filter({"", ""});
  EXPECT_EQ(Stream(filter, {"a", "b"}), "a|b");
}

}  // namespace
}  // namespace baton::router
