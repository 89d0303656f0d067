#include "loadgen/prompt_builder.h"

#include <memory>

#include "absl/strings/match.h"
#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "engine/tokenizer/test_vocabs.h"
#include "gtest/gtest.h"
#include "loadgen/workload.h"
#include "router/text_codec.h"

namespace baton::loadgen {
namespace {

namespace tok = engine::tokenizer;
using ::baton::testing::StatusIs;

// Every length from 2 to 300 is hit exactly, by the count the router uses (EncodePrompt).
void ExpectExactLengths(const router::TextCodec& codec) {
  ASSERT_OK_AND_ASSIGN(PromptBuilder builder, PromptBuilder::Create(&codec.tokenizer()));
  std::mt19937_64 rng(5);
  for (int32_t tokens = 2; tokens <= 300; tokens += 7) {
    ASSERT_OK_AND_ASSIGN(std::string prompt, builder.Build(tokens, rng));
    ASSERT_OK_AND_ASSIGN(std::vector<int32_t> ids, codec.EncodePrompt(prompt));
    EXPECT_EQ(ids.size(), static_cast<size_t>(tokens)) << prompt;
  }
}

TEST(PromptBuilderTest, HitsTheLengthExactlyWithStories260K) {
  const std::optional<std::string> model = baton::testing::SharedFile("models/stories260K.gguf");
  if (!model) GTEST_SKIP() << "../shared/models/stories260K.gguf not present (BATON_SHARED_DIR)";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<router::TextCodec> codec,
                       router::TextCodec::FromGguf(*model));
  ExpectExactLengths(*codec);
}

TEST(PromptBuilderTest, SharedPrefixGroupsStartWithTheirPrefixAndKeepTheLength) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<tok::Tokenizer> tokenizer,
                       tok::Tokenizer::Create(tok::testing::MakeSentencePieceVocab()));
  ASSERT_OK_AND_ASSIGN(PromptBuilder builder, PromptBuilder::Create(tokenizer.get()));
  SyntheticOptions options;
  ASSERT_OK_AND_ASSIGN(options.input_tokens, LengthDistribution::Parse("uniform:40:60"));
  ASSERT_OK_AND_ASSIGN(options.output_tokens, LengthDistribution::Parse("16"));
  options.prefix_groups = 2;
  options.prefix_tokens = 30;
  options.seed = 9;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SyntheticWorkload> workload,
                       SyntheticWorkload::Create(&builder, options));
  std::string prefixes[2];
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK_AND_ASSIGN(RequestSpec spec, workload->Next());
    ASSERT_GE(spec.prefix_group, 0);
    ASSERT_LT(spec.prefix_group, 2);
    EXPECT_EQ(builder.CountTokens(spec.prompt), spec.prompt_tokens);
    EXPECT_GE(spec.prompt_tokens, 40);
    EXPECT_LE(spec.prompt_tokens, 60);
    EXPECT_EQ(spec.output_tokens, 16);
    // Requests of one group share a prefix of at least the prefix's bytes.
    std::string& prefix = prefixes[spec.prefix_group];
    if (prefix.empty()) {
      prefix = spec.prompt;
    } else {
      size_t common = 0;
      while (common < prefix.size() && common < spec.prompt.size() &&
             prefix[common] == spec.prompt[common]) {
        ++common;
      }
      prefix.resize(common);
    }
  }
  for (const std::string& prefix : prefixes) {
    ASSERT_FALSE(prefix.empty());
    EXPECT_GE(builder.CountTokens(prefix), 25);  // the 30-token prefix, give or take a boundary
  }
  EXPECT_FALSE(absl::StartsWith(prefixes[0], prefixes[1]));
}

TEST(PromptBuilderTest, RejectsAPrefixLongerThanThePrompt) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<tok::Tokenizer> tokenizer,
                       tok::Tokenizer::Create(tok::testing::MakeSentencePieceVocab()));
  ASSERT_OK_AND_ASSIGN(PromptBuilder builder, PromptBuilder::Create(tokenizer.get()));
  std::mt19937_64 rng(1);
  ASSERT_OK_AND_ASSIGN(std::string prefix, builder.Build(20, rng));
  EXPECT_THAT(builder.Build(10, rng, prefix).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::loadgen
