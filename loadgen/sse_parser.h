// Splits a server-sent-event byte stream into the data payloads of its events, however the bytes
// were cut into reads: events end at a blank line ("\n\n" or "\r\n\r\n"); the "data:" lines of
// one event are joined with "\n"; comments and other fields are ignored.
// Not thread-safe: one parser per stream.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace baton::loadgen {

class SseParser {
 public:
  // Feeds the next bytes; returns the payloads of the events they completed, in order.
  std::vector<std::string> Feed(absl::string_view bytes);

 private:
  std::string pending_;
};

}  // namespace baton::loadgen
