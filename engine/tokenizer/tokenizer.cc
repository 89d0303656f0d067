#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <utility>

#include "common/status_macros.h"
#include "engine/tokenizer/end_of_generation.h"
#include "engine/tokenizer/tokenizer_model_registry.h"

namespace baton::engine::tokenizer {

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Create(Vocab vocab) {
  ASSIGN_OR_RETURN(IndexedVocab indexed, IndexedVocab::Create(std::move(vocab)));
  auto tokenizer = std::unique_ptr<Tokenizer>(new Tokenizer(std::move(indexed)));
  RETURN_IF_ERROR(tokenizer->Init());
  return tokenizer;
}

absl::Status Tokenizer::Init() {
  ASSIGN_OR_RETURN(model_, CreateTokenizerModel(vocab_));
  const int32_t n = vocab_.size();
  pieces_.resize(n);
  special_pieces_.resize(n);
  for (int32_t id = 0; id < n; ++id) {
    const std::string_view text = vocab_.TokenText(id);
    const TokenType type = vocab_.TokenTypeOf(id);
    std::string piece;
    switch (type) {
      case TokenType::kNormal:
      case TokenType::kByte:
        piece = model_->TokenBytes(text, type);
        break;
      case TokenType::kUserDefined:
        piece = text;
        break;
      default:  // control, unknown, unused, undefined: invisible unless rendered
        break;
    }
    const bool renders = type == TokenType::kControl || type == TokenType::kUnknown;
    special_pieces_[id] = renders ? std::string(text) : piece;
    pieces_[id] = std::move(piece);
  }
  end_of_generation_ = EndOfGenerationIds(vocab());
  return absl::OkStatus();
}

int32_t Tokenizer::FindToken(std::string_view text) const { return vocab_.FindToken(text); }

std::string_view Tokenizer::TokenText(int32_t id) const { return vocab_.TokenText(id); }

TokenType Tokenizer::TokenTypeOf(int32_t id) const { return vocab_.TokenTypeOf(id); }

const std::string& Tokenizer::TokenPiece(int32_t id, bool render_special) const {
  static const std::string* empty = new std::string();
  if (id < 0 || id >= vocab_size()) return *empty;
  return render_special ? special_pieces_[id] : pieces_[id];
}

bool Tokenizer::IsEndOfGeneration(int32_t id) const {
  return std::binary_search(end_of_generation_.begin(), end_of_generation_.end(), id);
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::Encode(std::string_view text,
                                                       const EncodeOptions& options) const {
  std::vector<int32_t> out;
  if (options.add_special && add_bos()) out.push_back(bos_id());
  bool after_special = true;  // the text start counts as following a special token
  for (const SpecialTokenMatcher::Fragment& fragment :
       specials_.Split(text, options.parse_special)) {
    if (fragment.token != kNoToken) {
      out.push_back(fragment.token);
      after_special = true;
      continue;
    }
    RETURN_IF_ERROR(model_->Encode(fragment.text, after_special, &out));
    after_special = false;
  }
  if (options.add_special && add_eos()) out.push_back(eos_id());
  return out;
}

void Tokenizer::AppendDecoded(int32_t id, const DecodeOptions& options, bool* at_start,
                              std::string* out) const {
  std::string_view piece = TokenPiece(id, options.render_special);
  if (piece.empty()) return;
  if (*at_start) {
    *at_start = false;
    if (options.strip_space_prefix && vocab().add_space_prefix && piece[0] == ' ') {
      piece.remove_prefix(1);
    }
  }
  out->append(piece);
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, const DecodeOptions& options) const {
  std::string out;
  bool at_start = true;
  for (int32_t id : ids) AppendDecoded(id, options, &at_start, &out);
  return out;
}

}  // namespace baton::engine::tokenizer
