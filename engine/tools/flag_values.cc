#include "engine/tools/flag_values.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace baton::engine::tools {

absl::StatusOr<std::vector<int32_t>> ParseTokenList(const std::string& text) {
  std::vector<int32_t> ids;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int32_t id;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &id) || id < 0) {
      return absl::InvalidArgumentError("bad token id '" + std::string(part) + "'");
    }
    ids.push_back(id);
  }
  if (ids.empty()) return absl::InvalidArgumentError("empty token list");
  return ids;
}

absl::StatusOr<KvDType> ParseKvDType(const std::string& text) {
  if (text == "f16") return KvDType::kF16;
  if (text == "f32") return KvDType::kF32;
  return absl::InvalidArgumentError("KV type must be f16 or f32, not '" + text + "'");
}

}  // namespace baton::engine::tools
