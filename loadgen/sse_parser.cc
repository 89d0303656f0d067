#include "loadgen/sse_parser.h"

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace baton::loadgen {

std::vector<std::string> SseParser::Feed(absl::string_view bytes) {
  pending_.append(bytes.data(), bytes.size());
  std::vector<std::string> payloads;
  while (true) {
    size_t end = pending_.find("\n\n");
    size_t separator = 2;
    const size_t crlf = pending_.find("\r\n\r\n");
    if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) {
      end = crlf;
      separator = 4;
    }
    if (end == std::string::npos) break;
    std::string data;
    bool has_data = false;
    for (absl::string_view line :
         absl::StrSplit(absl::string_view(pending_).substr(0, end), '\n')) {
      line = absl::StripSuffix(line, "\r");
      if (!absl::ConsumePrefix(&line, "data:")) continue;
      absl::ConsumePrefix(&line, " ");
      if (has_data) data += '\n';
      data.append(line.data(), line.size());
      has_data = true;
    }
    if (has_data) payloads.push_back(std::move(data));
    pending_.erase(0, end + separator);
  }
  return payloads;
}

}  // namespace baton::loadgen
