#include "engine/tokenizer/tools/tokenize_tool.h"

#include <sstream>

#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::tokenizer {
namespace {

using ::baton::testing::StatusIs;
using ::testing::HasSubstr;

TEST(TokenizeToolTest, RequiresModel) {
  std::ostringstream out;
  EXPECT_THAT(RunTokenize(TokenizeOptions{}, out), StatusIs(absl::StatusCode::kInvalidArgument));
  TokenizeOptions missing;
  missing.model_path = "/nonexistent/model.gguf";
  EXPECT_FALSE(RunTokenize(missing, out).ok());
}

TEST(TokenizeToolTest, EncodesAndRunsVectors) {
  if (!::baton::testing::SharedFile(".")) {
    GTEST_SKIP() << "shared folder absent (set BATON_SHARED_DIR)";
  }
  auto path = ::baton::testing::SharedFile("tokenizer/ggml-vocab-gpt-2.gguf");
  ASSERT_TRUE(path.has_value()) << "BATON_SHARED_DIR has no tokenizer/ggml-vocab-gpt-2.gguf";
  TokenizeOptions options;
  options.model_path = *path;
  options.text = "Hello world";
  options.add_special = false;
  std::ostringstream out;
  ASSERT_OK(RunTokenize(options, out));
  EXPECT_EQ(out.str(), "15496 995\n");

  options.json = true;
  out.str("");
  ASSERT_OK(RunTokenize(options, out));
  EXPECT_EQ(out.str(), "{\"ids\":[15496,995],\"pieces\":[\"Hello\",\"Ġworld\"]}\n");

  options.vectors = *path;
  out.str("");
  ASSERT_OK(RunTokenize(options, out));
  EXPECT_THAT(out.str(), HasSubstr(" passed, 0 failed\n"));
}

}  // namespace
}  // namespace baton::engine::tokenizer
