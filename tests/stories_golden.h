// Test support: the stories260K model of ../shared/models and its recorded greedy outputs
// (golden/stories260K.f32.json: 64 tokens per prompt, BOS added, no early stop), for tests that
// compare the router's text with the reference. Tests skip when ../shared is absent:
//   std::optional<StoriesGolden> golden = LoadStoriesGolden();
//   if (!golden) GTEST_SKIP() << kNoStoriesGolden;
//
// Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace baton::testing {

inline constexpr char kNoStoriesGolden[] =
    "models/stories260K.gguf or its golden file not found under BATON_SHARED_DIR";

struct GoldenCase {
  std::string prompt;
  std::vector<int32_t> prompt_ids;  // BOS first
  std::vector<int32_t> generated_ids;
  // The text of generated_ids alone, as a continuation of the prompt.
  std::string generated_text;
};

struct StoriesGolden {
  std::string model_path;
  // Tokens each case generated (every case's generated_ids has this many).
  int32_t generated_tokens = 0;
  std::vector<GoldenCase> cases;
};

// Reads the model's path and golden file; nullopt when either is missing or unreadable.
std::optional<StoriesGolden> LoadStoriesGolden();

}  // namespace baton::testing
