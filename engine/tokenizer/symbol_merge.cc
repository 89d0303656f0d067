#include "engine/tokenizer/symbol_merge.h"

#include "engine/tokenizer/utf8.h"

namespace baton::engine::tokenizer {

void InitMergeSymbols(std::string_view word, std::vector<MergeSymbol>* symbols) {
  symbols->clear();
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t len = Utf8SequenceLength(word, pos);
    const int index = static_cast<int>(symbols->size());
    symbols->push_back(MergeSymbol{index - 1, index + 1, pos, len});
    pos += len;
  }
  if (!symbols->empty()) symbols->back().next = -1;
}

}  // namespace baton::engine::tokenizer
