// Stop strings over a stream of generated text. Text that a stop string may still claim (a tail
// that is the beginning of one) is held back, so nothing is streamed and then retracted; when a
// stop string appears, the text before it is released and the stop string itself never is.
// Stop strings may span any number of tokens: the filter sees text, not tokens.
//
// Not thread-safe: one filter per stream.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace baton::router {

class StopStringFilter {
 public:
  // Empty strings in `stops` are ignored.
  explicit StopStringFilter(std::vector<std::string> stops);

  // Adds generated text; returns the text that is now safe to emit. Once a stop string has
  // appeared, stopped() is true, the returned text ends right before it, and later calls return
  // nothing.
  std::string Push(std::string_view text);
  // At the end of the stream: the text still held back (no stop string completed).
  std::string Flush();

  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  size_t longest_ = 0;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace baton::router
