#include "router/text_codec.h"

#include <fstream>

#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace baton::router {
namespace {

using ::baton::testing::SharedFile;
using ::baton::testing::StatusIs;

TEST(TextCodecTest, StoriesPromptAndStreamedContinuation) {
  const auto model = SharedFile("models/stories260K.gguf");
  const auto golden = SharedFile("models/golden/stories260K.f32.json");
  if (!model || !golden) GTEST_SKIP() << "../shared absent (set BATON_SHARED_DIR)";
  ASSERT_OK_AND_ASSIGN(auto codec, TextCodec::FromGguf(*model));
  const nlohmann::json cases = nlohmann::json::parse(std::ifstream(*golden))["cases"];
  for (const auto& c : cases) {
    ASSERT_OK_AND_ASSIGN(std::vector<int32_t> ids, codec->EncodePrompt(c["prompt"].get<std::string>()));
    EXPECT_EQ(ids, c["prompt_ids"].get<std::vector<int32_t>>()) << c["prompt"];
    auto stream = codec->NewStream();
    std::string text;
    for (int32_t id : c["generated_ids"].get<std::vector<int32_t>>()) text += stream.Feed(id);
    text += stream.Flush();
    EXPECT_EQ(text, codec->tokenizer().Decode(c["generated_ids"].get<std::vector<int32_t>>(),
                                             {.strip_space_prefix = false}));
    EXPECT_FALSE(text.empty());
  }
  // The first golden continuation of "Once upon a time" starts ", there was".
  auto stream = codec->NewStream();
  std::string start;
  for (int32_t id : cases[0]["generated_ids"].get<std::vector<int32_t>>()) start += stream.Feed(id);
  EXPECT_EQ(start.rfind(", there", 0), 0u) << start;
}

TEST(TextCodecTest, EmptyPromptIsInvalid) {
  const auto model = SharedFile("models/stories260K.gguf");
  if (!model) GTEST_SKIP() << "../shared absent (set BATON_SHARED_DIR)";
  ASSERT_OK_AND_ASSIGN(auto codec, TextCodec::FromGguf(*model));
  EXPECT_THAT(codec->EncodePrompt(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TextCodecTest, MissingOrCorruptModelIsAClearError) {
  EXPECT_THAT(TextCodec::FromGguf("/nonexistent/model.gguf"),
              StatusIs(absl::StatusCode::kNotFound));
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/bad.gguf";
  std::ofstream(path) << "GGUF but not really";
  EXPECT_FALSE(TextCodec::FromGguf(path).ok());
}

}  // namespace
}  // namespace baton::router
