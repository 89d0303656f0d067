#include "tests/stories_golden.h"

#include <fstream>
#include <sstream>

#include "common/testing/shared_data.h"
#include "nlohmann/json.hpp"

namespace baton::testing {

std::optional<StoriesGolden> LoadStoriesGolden() {
  std::optional<std::string> model = SharedFile("models/stories260K.gguf");
  std::optional<std::string> golden_path = SharedFile("models/golden/stories260K.f32.json");
  if (!model || !golden_path) return std::nullopt;
  std::ifstream in(*golden_path);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded() || !json.contains("cases")) return std::nullopt;
  StoriesGolden golden{.model_path = *model, .generated_tokens = json.value("n_gen", 0)};
  for (const nlohmann::json& c : json["cases"]) {
    golden.cases.push_back({.prompt = c["prompt"].get<std::string>(),
                            .prompt_ids = c["prompt_ids"].get<std::vector<int32_t>>(),
                            .generated_ids = c["generated_ids"].get<std::vector<int32_t>>(),
                            .generated_text = c["generated_text"].get<std::string>()});
  }
  return golden;
}

}  // namespace baton::testing
