#include "engine/tools/flag_values.h"

#include "absl/strings/ascii.h"
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

absl::StatusOr<TensorType> ParseTensorType(const std::string& text) {
  const std::string lower = absl::AsciiStrToLower(text);
  for (TensorType t : kAllTensorTypes) {
    if (absl::AsciiStrToLower(std::string(TensorTypeName(t))) == lower) return t;
  }
  return absl::InvalidArgumentError("unknown tensor type '" + text + "'");
}

absl::StatusOr<std::vector<std::pair<std::string, TensorType>>> ParseTypeOverrides(
    const std::string& text) {
  std::vector<std::pair<std::string, TensorType>> out;
  if (text.empty()) return out;
  for (absl::string_view entry : absl::StrSplit(text, ',')) {
    const std::vector<std::string> parts =
        absl::StrSplit(absl::StripAsciiWhitespace(entry), absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[0].empty()) {
      return absl::InvalidArgumentError("type override '" + std::string(entry) +
                                        "' is not suffix=type");
    }
    absl::StatusOr<TensorType> t = ParseTensorType(parts[1]);
    if (!t.ok()) return t.status();
    out.emplace_back(parts[0], *t);
  }
  return out;
}

}  // namespace baton::engine::tools
