#include "loadgen/dataset.h"

#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "loadgen/text_file.h"
#include "nlohmann/json.hpp"

namespace baton::loadgen {
namespace {

using Json = nlohmann::json;

int32_t Count(const TokenCounter& count_tokens, const std::string& text) {
  return count_tokens ? count_tokens(text) : 0;
}

}  // namespace

absl::StatusOr<std::vector<RequestSpec>> ReadJsonlDataset(const std::string& path,
                                                          const TokenCounter& count_tokens) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  std::vector<RequestSpec> specs;
  std::istringstream lines(*text);
  std::string line;
  for (int line_number = 1; std::getline(lines, line); ++line_number) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const std::string where = absl::StrCat(path, ":", line_number, ": ");
    const Json object = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!object.is_object()) return absl::InvalidArgumentError(where + "not a JSON object");
    const auto prompt = object.find("prompt");
    if (prompt == object.end() || !prompt->is_string() || prompt->get<std::string>().empty()) {
      return absl::InvalidArgumentError(where + "\"prompt\" must be a non-empty string");
    }
    RequestSpec spec;
    spec.prompt = prompt->get<std::string>();
    spec.prompt_tokens = Count(count_tokens, spec.prompt);
    for (const char* key : {"output_tokens", "output_len", "max_tokens"}) {
      const auto length = object.find(key);
      if (length == object.end()) continue;
      if (!length->is_number_integer() || length->get<int64_t>() < 1 ||
          length->get<int64_t>() > (1 << 20)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "\"", key, "\" must be a positive integer"));
      }
      spec.output_tokens = length->get<int32_t>();
      break;
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

absl::StatusOr<std::vector<RequestSpec>> ReadShareGptDataset(const std::string& path,
                                                             const TokenCounter& count_tokens) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  const Json root = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!root.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a ShareGPT file is a JSON array of conversations"));
  }
  std::vector<RequestSpec> specs;
  for (const Json& entry : root) {
    if (!entry.is_object()) continue;
    const auto turns = entry.find("conversations");
    if (turns == entry.end() || !turns->is_array()) continue;
    const std::string* prompt = nullptr;
    for (const Json& turn : *turns) {
      if (!turn.is_object() || !turn.contains("from") || !turn.contains("value") ||
          !turn["from"].is_string() || !turn["value"].is_string()) {
        break;
      }
      const std::string& from = turn["from"].get_ref<const std::string&>();
      const std::string& value = turn["value"].get_ref<const std::string&>();
      if (prompt == nullptr) {
        if (from == "human" && !value.empty()) prompt = &value;
        continue;
      }
      if (from != "gpt" || value.empty()) break;
      RequestSpec spec;
      spec.prompt = *prompt;
      spec.prompt_tokens = Count(count_tokens, *prompt);
      spec.output_tokens = count_tokens ? std::max(1, Count(count_tokens, value))
                                        : std::max<int32_t>(1, value.size() / 4);
      specs.push_back(std::move(spec));
      break;
    }
  }
  return specs;
}

}  // namespace baton::loadgen
