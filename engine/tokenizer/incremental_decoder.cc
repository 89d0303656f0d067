#include "engine/tokenizer/incremental_decoder.h"

#include "engine/tokenizer/utf8.h"

namespace baton::engine::tokenizer {

std::string IncrementalDecoder::Feed(int32_t id) {
  tokenizer_->AppendDecoded(id, options_, &at_start_, &pending_);
  const size_t ready = pending_.size() - IncompleteUtf8Suffix(pending_);
  std::string out = pending_.substr(0, ready);
  pending_.erase(0, ready);
  return out;
}

std::string IncrementalDecoder::Flush() {
  std::string out = std::move(pending_);
  pending_.clear();
  at_start_ = true;
  return out;
}

}  // namespace baton::engine::tokenizer
