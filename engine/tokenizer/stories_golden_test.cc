// Checks the tokenizer against the project's golden run of stories260K (../shared/models/golden):
// prompt ids and pieces, and the detokenized generated text, streamed.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace baton::engine::tokenizer {
namespace {

TEST(StoriesGoldenTest, PromptIdsPiecesAndStreamedText) {
  auto model = ::baton::testing::SharedFile("models/stories260K.gguf");
  auto golden = ::baton::testing::SharedFile("models/golden/stories260K.f32.json");
  if (!model || !golden) GTEST_SKIP() << "shared folder absent (set BATON_SHARED_DIR)";
  ASSERT_OK_AND_ASSIGN(auto file, gguf::GgufFile::Open(*model));
  ASSERT_OK_AND_ASSIGN(Vocab vocab, LoadVocabFromGguf(*file));
  ASSERT_OK_AND_ASSIGN(auto tokenizer, Tokenizer::Create(std::move(vocab)));
  std::ifstream in(*golden);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const nlohmann::json doc = nlohmann::json::parse(buffer.str(), nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  ASSERT_FALSE(doc["cases"].empty());
  for (const auto& c : doc["cases"]) {
    const std::string prompt = c["prompt"];
    const std::vector<int32_t> prompt_ids = c["prompt_ids"];
    const std::vector<std::string> pieces = c["prompt_pieces"];
    const std::vector<int32_t> generated = c["generated_ids"];
    ASSERT_OK_AND_ASSIGN(auto ids, tokenizer->Encode(prompt));
    EXPECT_EQ(ids, prompt_ids) << prompt;
    ASSERT_EQ(pieces.size(), prompt_ids.size());
    for (size_t i = 0; i < pieces.size(); ++i) {
      EXPECT_EQ(tokenizer->TokenPiece(prompt_ids[i], /*render_special=*/true), pieces[i]);
    }
    // Generated tokens continue the prompt: their leading space is real.
    const DecodeOptions continuation{.strip_space_prefix = false};
    IncrementalDecoder decoder(tokenizer.get(), continuation);
    std::string streamed;
    for (int32_t id : generated) streamed += decoder.Feed(id);
    streamed += decoder.Flush();
    EXPECT_EQ(streamed, c["generated_text"].get<std::string>());
    std::vector<int32_t> all = prompt_ids;
    all.insert(all.end(), generated.begin(), generated.end());
    EXPECT_EQ(tokenizer->Decode(all, continuation), c["full_text_detok"].get<std::string>());
    EXPECT_EQ(tokenizer->Decode(all), prompt + c["generated_text"].get<std::string>());
  }
}

}  // namespace
}  // namespace baton::engine::tokenizer
