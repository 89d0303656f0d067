#include "engine/tokenizer/conformance.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace baton::engine::tokenizer {
namespace {

constexpr std::string_view kSeparator = "\n__ggml_vocab_test__\n";

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("can not open ", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

absl::StatusOr<std::vector<ConformanceCase>> ParseConformanceVectors(std::string_view inp,
                                                                     std::string_view out) {
  std::vector<ConformanceCase> cases;
  // Every string is followed by the separator; the first string also has no leading newline.
  size_t pos = 0;
  while (pos < inp.size()) {
    size_t end = inp.find(kSeparator, pos);
    if (end == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("conformance input has trailing text without a separator at byte ", pos));
    }
    cases.push_back(ConformanceCase{std::string(inp.substr(pos, end - pos)), {}});
    pos = end + kSeparator.size();
  }
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(out.data(), out.size()), '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.size() != cases.size()) {
    return absl::InvalidArgumentError(absl::StrCat("conformance input has ", cases.size(),
                                                   " strings but the output has ", lines.size(),
                                                   " lines"));
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    for (absl::string_view field : absl::StrSplit(lines[i], ' ', absl::SkipEmpty())) {
      int32_t id;
      if (!absl::SimpleAtoi(field, &id)) {
        return absl::InvalidArgumentError(
            absl::StrCat("conformance output line ", i + 1, ": \"", field, "\" is not an id"));
      }
      cases[i].expected.push_back(id);
    }
  }
  return cases;
}

absl::StatusOr<std::vector<ConformanceCase>> ReadConformanceVectors(const std::string& prefix) {
  ASSIGN_OR_RETURN(std::string inp, ReadFile(prefix + ".inp"));
  ASSIGN_OR_RETURN(std::string out, ReadFile(prefix + ".out"));
  return ParseConformanceVectors(inp, out);
}

std::vector<ConformanceResult> RunConformance(const Tokenizer& tokenizer,
                                              const std::vector<ConformanceCase>& cases) {
  std::vector<ConformanceResult> results;
  results.reserve(cases.size());
  for (const ConformanceCase& c : cases) {
    ConformanceResult result{c.text, c.expected, {}, false};
    auto ids =
        tokenizer.Encode(c.text, EncodeOptions{.add_special = false, .parse_special = false});
    if (ids.ok()) {
      result.actual = *std::move(ids);
      result.passed = result.actual == c.expected;
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace baton::engine::tokenizer
