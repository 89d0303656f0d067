#include "engine/tokenizer/end_of_generation.h"

#include <algorithm>
#include <string_view>

namespace baton::engine::tokenizer {
namespace {

constexpr std::string_view kEndMarkers[] = {
    "<|eot_id|>",
    "<|eom_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "</s>",
    "<EOT>",
    // DeepSeek: FULLWIDTH VERTICAL LINE and LOWER ONE EIGHTH BLOCK around the words.
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
};

// Control and user-defined tokens are matched whole by the tokenizer; Gemma's SentencePiece
// model spells <end_of_turn> as user-defined, so control alone would miss it.
bool IsSpecial(const Vocab& vocab, size_t id) {
  if (id >= vocab.types.size()) return false;  // no types: every token is normal text
  return vocab.types[id] == TokenType::kControl || vocab.types[id] == TokenType::kUserDefined;
}

}  // namespace

std::vector<int32_t> EndOfGenerationIds(const Vocab& vocab) {
  const size_t n = vocab.tokens.size();
  std::vector<int32_t> ids;
  for (int32_t id : {vocab.eos_id, vocab.eot_id, vocab.eom_id}) {
    if (id >= 0 && static_cast<size_t>(id) < n) ids.push_back(id);
  }
  // A linear scan rather than a text lookup: a vocabulary may spell a marker twice (once as
  // text, once as a control token), and the special one must be found wherever it sits.
  for (size_t id = 0; id < n; ++id) {
    if (!IsSpecial(vocab, id)) continue;
    const std::string_view text = vocab.tokens[id];
    if (std::find(std::begin(kEndMarkers), std::end(kEndMarkers), text) != std::end(kEndMarkers)) {
      ids.push_back(static_cast<int32_t>(id));
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace baton::engine::tokenizer
