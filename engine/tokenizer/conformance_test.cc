// Runs the llama.cpp tokenizer vectors in ../shared/tokenizer against real GGUF vocabularies.
#include "engine/tokenizer/conformance.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/tokenizer.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::baton::testing::SharedFile;

// The vocabularies whose vectors ../shared/tokenizer holds (ggml-vocab-NAME.gguf{,.inp,.out}).
const std::vector<std::string>& VocabNames() {
  static const auto* names = new std::vector<std::string>{"llama-spm", "gpt-2", "deepseek-coder"};
  return *names;
}

std::string Ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

class ConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConformanceTest, AllCasesPass) {
  if (!SharedFile(".")) GTEST_SKIP() << "shared folder absent (set BATON_SHARED_DIR)";
  // With the folder present, a missing or unreadable vocabulary is a failure, not a skip: a
  // skipped vocabulary would look like a passing tokenizer.
  const std::string name = "tokenizer/ggml-vocab-" + GetParam() + ".gguf";
  auto path = SharedFile(name);
  ASSERT_TRUE(path.has_value()) << "BATON_SHARED_DIR has no " << name;
  ASSERT_OK_AND_ASSIGN(auto file, gguf::GgufFile::Open(*path));
  ASSERT_OK_AND_ASSIGN(Vocab vocab, LoadVocabFromGguf(*file));
  ASSERT_OK_AND_ASSIGN(auto tokenizer, Tokenizer::Create(std::move(vocab)));
  ASSERT_OK_AND_ASSIGN(auto cases, ReadConformanceVectors(*path));
  ASSERT_GT(cases.size(), 10u);
  int passed = 0;
  for (const ConformanceResult& r : RunConformance(*tokenizer, cases)) {
    EXPECT_TRUE(r.passed) << "text \"" << r.text << "\"\n  expected:" << Ids(r.expected)
                          << "\n    actual:" << Ids(r.actual);
    passed += r.passed;
    // Decoding gives the text back (these vocabularies cover every input byte).
    EXPECT_EQ(tokenizer->Decode(r.actual), r.text);
  }
  EXPECT_EQ(passed, static_cast<int>(cases.size()));
}

INSTANTIATE_TEST_SUITE_P(SharedVocabs, ConformanceTest, ::testing::ValuesIn(VocabNames()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

// Vectors added to the shared folder must be run, not silently left out of the list above.
TEST(ConformanceCoverageTest, EveryVectorFileIsChecked) {
  if (!SharedFile(".")) GTEST_SKIP() << "shared folder absent (set BATON_SHARED_DIR)";
  auto dir = SharedFile("tokenizer");
  ASSERT_TRUE(dir.has_value()) << "BATON_SHARED_DIR has no tokenizer/ folder";
  constexpr std::string_view kPrefix = "ggml-vocab-";
  constexpr std::string_view kSuffix = ".gguf.inp";
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator(*dir)) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with(kPrefix) || !file.ends_with(kSuffix)) continue;
    ++found;
    const std::string name =
        file.substr(kPrefix.size(), file.size() - kPrefix.size() - kSuffix.size());
    const bool listed =
        std::find(VocabNames().begin(), VocabNames().end(), name) != VocabNames().end();
    EXPECT_TRUE(listed) << file << " has no entry in VocabNames(), so it is never run";
  }
  EXPECT_GT(found, 0);
}

TEST(ConformanceParseTest, PairsStringsWithIdLines) {
  ASSERT_OK_AND_ASSIGN(auto cases,
                       ParseConformanceVectors("a b\n__ggml_vocab_test__\n\n__ggml_vocab_test__\n\n"
                                               "\n__ggml_vocab_test__\n",
                                               " 1 2\n\n 13\n"));
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0].text, "a b");
  EXPECT_EQ(cases[0].expected, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(cases[1].text, "");
  EXPECT_TRUE(cases[1].expected.empty());
  EXPECT_EQ(cases[2].text, "\n");
  EXPECT_EQ(cases[2].expected, (std::vector<int32_t>{13}));
}

TEST(ConformanceParseTest, RejectsMismatchedCounts) {
  EXPECT_THAT(ParseConformanceVectors("a\n__ggml_vocab_test__\n", " 1\n 2\n"),
              ::baton::testing::StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseConformanceVectors("a\n__ggml_vocab_test__\n", " x\n"),
              ::baton::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::engine::tokenizer
