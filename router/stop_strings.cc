#include "router/stop_strings.h"

#include <algorithm>

namespace baton::router {

StopStringFilter::StopStringFilter(std::vector<std::string> stops) {
  for (std::string& s : stops) {
    if (s.empty()) continue;
    longest_ = std::max(longest_, s.size());
    stops_.push_back(std::move(s));
  }
}

std::string StopStringFilter::Push(std::string_view text) {
  if (stopped_) return "";
  held_.append(text);
  // The earliest stop string wins; among those starting at one place, any will do (same text).
  size_t first = std::string::npos;
  for (const std::string& stop : stops_) first = std::min(first, held_.find(stop));
  if (first != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, first);
    held_.clear();
    return out;
  }
  // Hold back the longest tail that begins some stop string. It never starts inside a UTF-8
  // character: stop strings are valid UTF-8, so none begins with a continuation byte.
  size_t keep = 0;
  for (size_t len = std::min(held_.size(), longest_ - (longest_ > 0 ? 1 : 0)); len > 0; --len) {
    const std::string_view tail = std::string_view(held_).substr(held_.size() - len);
    const bool begins_a_stop = std::any_of(stops_.begin(), stops_.end(), [&](const auto& stop) {
      return std::string_view(stop).substr(0, len) == tail;
    });
    if (begins_a_stop) {
      keep = len;
      break;
    }
  }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopStringFilter::Flush() {
  std::string out = std::move(held_);
  held_.clear();
  return stopped_ ? "" : out;
}

}  // namespace baton::router
