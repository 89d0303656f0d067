// Tokenizer conformance vectors: a `.inp` file of test strings, each followed by a line
// "__ggml_vocab_test__", and a `.out` file with one line of expected ids (space separated) per
// string. Parsing and running them is shared by the unit test and the `tokenize` tool.
// Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/tokenizer.h"

namespace baton::engine::tokenizer {

struct ConformanceCase {
  std::string text;
  std::vector<int32_t> expected;
};

struct ConformanceResult {
  std::string text;
  std::vector<int32_t> expected;
  std::vector<int32_t> actual;
  bool passed = false;
};

// Pairs the strings of `inp` with the id lines of `out`. kInvalidArgument when the counts
// differ or an id is not an integer.
absl::StatusOr<std::vector<ConformanceCase>> ParseConformanceVectors(std::string_view inp,
                                                                     std::string_view out);

// Reads PREFIX.inp and PREFIX.out. kNotFound when a file is missing.
absl::StatusOr<std::vector<ConformanceCase>> ReadConformanceVectors(const std::string& prefix);

// Encodes every case with no BOS/EOS and special text left unparsed, as the vectors expect.
std::vector<ConformanceResult> RunConformance(const Tokenizer& tokenizer,
                                              const std::vector<ConformanceCase>& cases);

}  // namespace baton::engine::tokenizer
