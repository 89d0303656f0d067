#include "engine/tools/naive_detokenizer.h"

#include <cstdlib>

namespace baton::engine::tools {

std::string NaiveDetokenize(const std::vector<std::string>& pieces,
                            std::span<const int32_t> ids) {
  static const std::string kSpace = "\xe2\x96\x81";  // "▁"
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= pieces.size()) {
      out += "<unk:" + std::to_string(id) + ">";
      continue;
    }
    const std::string& p = pieces[id];
    if (p == "<s>" || p == "</s>" || p == "<unk>") continue;
    if (p.size() == 6 && p.rfind("<0x", 0) == 0 && p[5] == '>') {
      out.push_back(static_cast<char>(std::strtol(p.substr(3, 2).c_str(), nullptr, 16)));
      continue;
    }
    for (size_t i = 0; i < p.size();) {
      if (p.compare(i, kSpace.size(), kSpace) == 0) {
        out.push_back(' ');
        i += kSpace.size();
      } else {
        out.push_back(p[i++]);
      }
    }
  }
  return out;
}

}  // namespace baton::engine::tools
