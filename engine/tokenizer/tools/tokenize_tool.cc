#include "engine/tokenizer/tools/tokenize_tool.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/conformance.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace baton::engine::tokenizer {
namespace {

std::string IdList(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) absl::StrAppend(&s, i ? " " : "", ids[i]);
  return s;
}

// Makes control characters visible in one-line reports.
std::string Escape(const std::string& text) {
  std::string s;
  for (char c : text) {
    if (c == '\n') {
      s += "\\n";
    } else if (c == '\t') {
      s += "\\t";
    } else {
      s.push_back(c);
    }
  }
  return s;
}

absl::Status RunVectors(const Tokenizer& tokenizer, const std::string& prefix, std::ostream& out) {
  ASSIGN_OR_RETURN(auto cases, ReadConformanceVectors(prefix));
  int passed = 0;
  int failed = 0;
  for (const ConformanceResult& r : RunConformance(tokenizer, cases)) {
    if (r.passed) {
      ++passed;
      out << "PASS \"" << Escape(r.text) << "\"\n";
    } else {
      ++failed;
      out << "FAIL \"" << Escape(r.text) << "\"\n  expected: " << IdList(r.expected)
          << "\n  actual:   " << IdList(r.actual) << "\n";
    }
  }
  out << passed << " passed, " << failed << " failed\n";
  if (failed > 0) {
    return absl::FailedPreconditionError(absl::StrCat(failed, " conformance cases failed"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunTokenize(const TokenizeOptions& options, std::ostream& out) {
  if (options.model_path.empty()) return absl::InvalidArgumentError("--model is required");
  ASSIGN_OR_RETURN(auto file, gguf::GgufFile::Open(options.model_path));
  ASSIGN_OR_RETURN(auto tokenizer, LoadTokenizerFromGguf(*file));
  if (!options.vectors.empty()) return RunVectors(*tokenizer, options.vectors, out);

  std::string text = options.text;
  if (!options.file.empty()) {
    std::ifstream in(options.file, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("can not open ", options.file));
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  ASSIGN_OR_RETURN(auto ids,
                   tokenizer->Encode(text, EncodeOptions{.add_special = options.add_special,
                                                         .parse_special = options.parse_special}));
  if (options.json) {
    nlohmann::json pieces = nlohmann::json::array();
    for (int32_t id : ids) pieces.push_back(std::string(tokenizer->TokenText(id)));
    nlohmann::json doc = {{"ids", ids}, {"pieces", pieces}};
    out << doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    out << IdList(ids) << "\n";
  }
  return absl::OkStatus();
}

}  // namespace baton::engine::tokenizer
