#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <queue>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/tokenizer/end_of_generation.h"
#include "engine/tokenizer/utf8.h"

namespace baton::engine::tokenizer {
namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

// A run of text being merged: a doubly linked list over a word, one node per symbol.
struct Symbol {
  int prev;
  int next;
  size_t begin;  // byte offset into the word
  size_t size;   // bytes; 0 once merged into its left neighbour
};

// A candidate merge of two adjacent symbols. `size` snapshots left.size + right.size so stale
// entries (either side changed since) are recognized and dropped when popped.
struct Bigram {
  int left;
  int right;
  float priority;  // higher merges first (SentencePiece score, or -rank for BPE)
  size_t size;
};

struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.left > b.left;  // equal priority: leftmost first
  }
};

using BigramQueue = std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder>;

// Splits `word` into symbols of one UTF-8 character each (an invalid byte is its own symbol).
void InitSymbols(std::string_view word, std::vector<Symbol>* symbols) {
  symbols->clear();
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t len = Utf8SequenceLength(word, pos);
    const int index = static_cast<int>(symbols->size());
    symbols->push_back(Symbol{index - 1, index + 1, pos, len});
    pos += len;
  }
  if (!symbols->empty()) symbols->back().next = -1;
}

// Runs the merge loop: `score(left, right)` returns the priority of merging two adjacent
// texts, or nullopt when they do not merge.
template <typename ScoreFn>
void MergeSymbols(std::string_view word, std::vector<Symbol>* symbols, ScoreFn score) {
  std::vector<Symbol>& sym = *symbols;
  std::vector<Bigram> storage;
  storage.reserve(sym.size());
  BigramQueue queue(BigramOrder{}, std::move(storage));
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const std::string_view a = word.substr(sym[left].begin, sym[left].size);
    const std::string_view b = word.substr(sym[right].begin, sym[right].size);
    if (auto priority = score(a, b)) {
      queue.push(Bigram{left, right, *priority, a.size() + b.size()});
    }
  };
  for (int i = 1; i < static_cast<int>(sym.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    const Bigram top = queue.top();
    queue.pop();
    Symbol& left = sym[top.left];
    Symbol& right = sym[top.right];
    if (left.size == 0 || right.size == 0 || left.size + right.size != top.size) continue;
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = top.left;
    try_add(left.prev, top.left);
    try_add(top.left, left.next);
  }
}

bool IsSpecialType(TokenType type) {
  return type == TokenType::kControl || type == TokenType::kUserDefined ||
         type == TokenType::kUnknown;
}

// A piece of the input: either text still to encode or an already recognized special token.
struct Fragment {
  std::string_view text;
  int32_t token = kNoToken;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Create(Vocab vocab) {
  auto tokenizer = std::unique_ptr<Tokenizer>(new Tokenizer(std::move(vocab)));
  RETURN_IF_ERROR(tokenizer->Init());
  return tokenizer;
}

absl::Status Tokenizer::Init() {
  const size_t n = vocab_.tokens.size();
  if (n == 0) return absl::InvalidArgumentError("vocabulary has no tokens");
  if (n > static_cast<size_t>(INT32_MAX)) return absl::InvalidArgumentError("vocabulary too big");
  if (vocab_.scores.empty()) vocab_.scores.assign(n, 0.0f);
  if (vocab_.types.empty()) vocab_.types.assign(n, TokenType::kNormal);
  if (vocab_.scores.size() != n || vocab_.types.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("vocabulary has ", n, " tokens but ",
                                                   vocab_.scores.size(), " scores and ",
                                                   vocab_.types.size(), " token types"));
  }
  for (auto [name, id] : {std::pair{"bos", vocab_.bos_id},
                          {"eos", vocab_.eos_id},
                          {"eot", vocab_.eot_id},
                          {"eom", vocab_.eom_id},
                          {"unk", vocab_.unk_id},
                          {"pad", vocab_.pad_id}}) {
    if (id != kNoToken && (id < 0 || static_cast<size_t>(id) >= n)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " token id ", id, " is outside the vocabulary of ", n));
    }
  }
  if ((vocab_.add_bos && vocab_.bos_id == kNoToken) ||
      (vocab_.add_eos && vocab_.eos_id == kNoToken)) {
    return absl::InvalidArgumentError("add_bos/add_eos set without a BOS/EOS token id");
  }

  token_to_id_.reserve(n);
  for (size_t i = 0; i < n; ++i) token_to_id_.emplace(vocab_.tokens[i], static_cast<int32_t>(i));

  const bool bpe = vocab_.kind == VocabKind::kBytePairBpe;
  if (bpe) {
    merge_rank_.reserve(vocab_.merges.size());
    for (size_t i = 0; i < vocab_.merges.size(); ++i) {
      const std::string& merge = vocab_.merges[i];
      const size_t space = merge.size() > 1 ? merge.find(' ', 1) : std::string::npos;
      if (space == std::string::npos || space + 1 >= merge.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("BPE merge ", i, " \"", merge, "\" is not two space-separated parts"));
      }
      merge_rank_.emplace(merge, static_cast<int32_t>(i));
    }
    ASSIGN_OR_RETURN(PreTokenizerSpec spec, PreTokenizerSpecFor(vocab_.pre));
    ASSIGN_OR_RETURN(pre_tokenizer_, PreTokenizer::Create(spec));
  }

  byte_tokens_.assign(256, kNoToken);
  for (int b = 0; b < 256; ++b) {
    if (bpe) {
      byte_tokens_[b] = FindToken(ByteToUnicode(static_cast<uint8_t>(b)));
    } else {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      byte_tokens_[b] = FindToken(name);
    }
  }

  if (bpe) {
    bpe_by_id_ = std::none_of(byte_tokens_.begin(), byte_tokens_.end(),
                              [](int32_t id) { return id == kNoToken; });
    id_merges_.reserve(vocab_.merges.size());
    for (size_t i = 0; i < vocab_.merges.size() && bpe_by_id_; ++i) {
      const std::string& merge = vocab_.merges[i];
      const size_t space = merge.find(' ', 1);
      const std::string_view left = std::string_view(merge).substr(0, space);
      const std::string_view right = std::string_view(merge).substr(space + 1);
      const int32_t left_id = FindToken(left);
      const int32_t right_id = FindToken(right);
      const int32_t merged_id = FindToken(std::string(left) + std::string(right));
      if (left_id == kNoToken || right_id == kNoToken || merged_id == kNoToken) {
        bpe_by_id_ = false;  // a merge outside the vocabulary: use the text path
        break;
      }
      const uint64_t key = (static_cast<uint64_t>(left_id) << 32) | static_cast<uint32_t>(right_id);
      id_merges_.emplace(key, IdMerge{static_cast<int32_t>(i), merged_id});
    }
    if (!bpe_by_id_) id_merges_.clear();
  }

  pieces_.resize(n);
  special_pieces_.resize(n);
  special_first_byte_.assign(256, false);
  special_single_byte_.assign(256, {});
  for (size_t i = 0; i < n; ++i) {
    const std::string& text = vocab_.tokens[i];
    std::string piece;
    switch (vocab_.types[i]) {
      case TokenType::kNormal:
        if (bpe) {
          if (!DecodeByteLevel(text, &piece)) piece = text;  // not byte-level spelled: as is
        } else {
          for (size_t pos = 0; pos < text.size();) {
            if (text.compare(pos, kSpmSpace.size(), kSpmSpace) == 0) {
              piece.push_back(' ');
              pos += kSpmSpace.size();
            } else {
              piece.push_back(text[pos++]);
            }
          }
        }
        break;
      case TokenType::kByte: {
        unsigned value = 0;
        char tail = 0;
        if (text.size() == 6 && std::sscanf(text.c_str(), "<0x%2X%c", &value, &tail) == 2 &&
            tail == '>') {
          piece.push_back(static_cast<char>(value));
        } else if (!bpe || !DecodeByteLevel(text, &piece)) {
          piece = text;
        }
        break;
      }
      case TokenType::kUserDefined:
        piece = text;
        break;
      default:  // control, unknown, unused, undefined: invisible unless rendered
        break;
    }
    const bool renders =
        vocab_.types[i] == TokenType::kControl || vocab_.types[i] == TokenType::kUnknown;
    special_pieces_[i] = renders ? text : piece;
    pieces_[i] = std::move(piece);
    if (IsSpecialType(vocab_.types[i]) && !text.empty()) {
      const uint8_t first = static_cast<uint8_t>(text[0]);
      special_first_byte_[first] = true;
      if (text.size() == 1) {
        special_single_byte_[first].push_back(static_cast<int32_t>(i));
      } else {
        special_by_prefix_[static_cast<uint16_t>(first << 8 | static_cast<uint8_t>(text[1]))]
            .push_back(static_cast<int32_t>(i));
      }
    }
  }
  auto longest_first = [this](int32_t a, int32_t b) {
    return vocab_.tokens[a].size() > vocab_.tokens[b].size();
  };
  for (auto& [prefix, ids] : special_by_prefix_)
    std::stable_sort(ids.begin(), ids.end(), longest_first);

  spm_split_at_spaces_ = !bpe;
  for (size_t i = 0; i < n && spm_split_at_spaces_; ++i) {
    const std::string& text = vocab_.tokens[i];
    for (size_t pos = text.find(kSpmSpace, 1); pos != std::string::npos;
         pos = text.find(kSpmSpace, pos + 1)) {
      if (pos < kSpmSpace.size() ||
          text.compare(pos - kSpmSpace.size(), kSpmSpace.size(), kSpmSpace) != 0) {
        spm_split_at_spaces_ = false;
        break;
      }
    }
  }

  end_of_generation_ = EndOfGenerationIds(vocab_);
  return absl::OkStatus();
}

int32_t Tokenizer::FindToken(std::string_view text) const {
  auto it = token_to_id_.find(absl::string_view(text.data(), text.size()));
  return it == token_to_id_.end() ? kNoToken : it->second;
}

std::string_view Tokenizer::TokenText(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return vocab_.tokens[id];
}

TokenType Tokenizer::TokenTypeOf(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return TokenType::kUndefined;
  return vocab_.types[id];
}

const std::string& Tokenizer::TokenPiece(int32_t id, bool render_special) const {
  static const std::string* empty = new std::string();
  if (id < 0 || id >= vocab_size()) return *empty;
  return render_special ? special_pieces_[id] : pieces_[id];
}

bool Tokenizer::IsEndOfGeneration(int32_t id) const {
  return std::binary_search(end_of_generation_.begin(), end_of_generation_.end(), id);
}

int32_t Tokenizer::MatchSpecial(std::string_view text, size_t pos, bool parse_special) const {
  const uint8_t first = static_cast<uint8_t>(text[pos]);
  if (!special_first_byte_[first]) return kNoToken;
  auto matches = [&](int32_t id) {
    if (!parse_special && vocab_.types[id] != TokenType::kUserDefined) return false;
    const std::string& name = vocab_.tokens[id];
    return text.compare(pos, name.size(), name) == 0;
  };
  if (pos + 1 < text.size()) {
    auto it = special_by_prefix_.find(
        static_cast<uint16_t>(first << 8 | static_cast<uint8_t>(text[pos + 1])));
    if (it != special_by_prefix_.end()) {
      for (int32_t id : it->second) {
        if (matches(id)) return id;
      }
    }
  }
  for (int32_t id : special_single_byte_[first]) {
    if (matches(id)) return id;
  }
  return kNoToken;
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::Encode(std::string_view text,
                                                       const EncodeOptions& options) const {
  std::vector<int32_t> out;
  if (options.add_special && vocab_.add_bos) out.push_back(vocab_.bos_id);

  // Cut special-token text out of the input, leftmost match first and the longest token at a
  // position (as Hugging Face's added-token matching does).
  std::vector<Fragment> fragments;
  size_t raw_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const int32_t id = MatchSpecial(text, pos, options.parse_special);
    if (id == kNoToken) {
      ++pos;
      continue;
    }
    if (pos > raw_start) fragments.push_back(Fragment{text.substr(raw_start, pos - raw_start)});
    fragments.push_back(Fragment{{}, id});
    pos += vocab_.tokens[id].size();
    raw_start = pos;
  }
  if (raw_start < text.size()) fragments.push_back(Fragment{text.substr(raw_start)});

  bool after_special = true;  // the text start counts as following a special token
  for (const Fragment& fragment : fragments) {
    if (fragment.token != kNoToken) {
      out.push_back(fragment.token);
      after_special = true;
      continue;
    }
    RETURN_IF_ERROR(EncodeRaw(fragment.text, after_special, &out));
    after_special = false;
  }
  if (options.add_special && vocab_.add_eos) out.push_back(vocab_.eos_id);
  return out;
}

absl::Status Tokenizer::EncodeRaw(std::string_view text, bool after_special,
                                  std::vector<int32_t>* out) const {
  if (vocab_.kind == VocabKind::kSentencePiece) {
    std::string escaped;
    escaped.reserve(text.size() + 8);
    if (vocab_.add_space_prefix && after_special) escaped.append(kSpmSpace);
    for (char c : text) {
      if (c == ' ') {
        escaped.append(kSpmSpace);
      } else {
        escaped.push_back(c);
      }
    }
    return EncodeSentencePiece(escaped, out);
  }
  std::vector<std::string_view> words;
  pre_tokenizer_->Split(text, &words);
  for (std::string_view word : words) RETURN_IF_ERROR(EncodeBpeWord(word, out));
  return absl::OkStatus();
}

absl::Status Tokenizer::PushByte(uint8_t byte, std::vector<int32_t>* out) const {
  if (byte_tokens_[byte] != kNoToken) {
    out->push_back(byte_tokens_[byte]);
  } else if (vocab_.unk_id != kNoToken) {
    out->push_back(vocab_.unk_id);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "byte 0x", absl::Hex(byte), " has no token and the vocabulary has no unknown token"));
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::EncodeSentencePiece(std::string_view text,
                                            std::vector<int32_t>* out) const {
  if (!spm_split_at_spaces_) return EncodeSentencePieceWord(text, out);
  // Cut before every "▁" that follows another character; runs of "▁" stay with the next word.
  size_t start = 0;
  for (size_t pos = 1; pos < text.size(); ++pos) {
    if (text.compare(pos, kSpmSpace.size(), kSpmSpace) != 0) continue;
    if (pos >= kSpmSpace.size() &&
        text.compare(pos - kSpmSpace.size(), kSpmSpace.size(), kSpmSpace) == 0) {
      continue;
    }
    RETURN_IF_ERROR(EncodeSentencePieceWord(text.substr(start, pos - start), out));
    start = pos;
  }
  return EncodeSentencePieceWord(text.substr(start), out);
}

absl::Status Tokenizer::EncodeSentencePieceWord(std::string_view text,
                                                std::vector<int32_t>* out) const {
  std::vector<Symbol> symbols;
  InitSymbols(text, &symbols);
  std::string joined;
  MergeSymbols(text, &symbols, [this, &joined](std::string_view a, std::string_view b) {
    joined.assign(a).append(b);
    const int32_t id = FindToken(joined);
    return id == kNoToken ? std::nullopt : std::optional<float>(vocab_.scores[id]);
  });
  for (const Symbol& symbol : symbols) {
    if (symbol.size == 0) continue;
    const std::string_view piece = text.substr(symbol.begin, symbol.size);
    const int32_t id = FindToken(piece);
    if (id != kNoToken) {
      out->push_back(id);
      continue;
    }
    // A character with no token: byte fallback when every byte has a token, else one unknown.
    const bool all_bytes = std::all_of(piece.begin(), piece.end(), [this](char c) {
      return byte_tokens_[static_cast<uint8_t>(c)] != kNoToken;
    });
    if (all_bytes || vocab_.unk_id == kNoToken) {
      for (char c : piece) RETURN_IF_ERROR(PushByte(static_cast<uint8_t>(c), out));
    } else {
      out->push_back(vocab_.unk_id);
    }
  }
  return absl::OkStatus();
}

int32_t Tokenizer::BpeRank(std::string_view left, std::string_view right) const {
  thread_local std::string key;
  key.assign(left).append(" ").append(right);
  auto it = merge_rank_.find(key);
  return it == merge_rank_.end() ? -1 : it->second;
}

void Tokenizer::EncodeBpeWordById(std::string_view word, std::vector<int32_t>* out) const {
  struct Node {
    int32_t id;
    int prev;
    int next;
  };
  struct Candidate {
    int32_t rank;
    int left;
    int32_t left_id;
    int32_t right_id;
    bool operator<(const Candidate& o) const {  // lowest rank, then leftmost, on top
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  thread_local std::vector<Node> nodes;
  thread_local std::vector<Candidate> heap;
  nodes.clear();
  heap.clear();
  const int n = static_cast<int>(word.size());
  for (int i = 0; i < n; ++i) {
    nodes.push_back(
        Node{byte_tokens_[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1});
  }
  auto consider = [&](int left) {
    if (left < 0 || nodes[left].next < 0) return;
    const int32_t a = nodes[left].id;
    const int32_t b = nodes[nodes[left].next].id;
    auto it = id_merges_.find((static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b));
    if (it == id_merges_.end()) return;
    heap.push_back(Candidate{it->second.rank, left, a, b});
    std::push_heap(heap.begin(), heap.end());
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate c = heap.back();
    heap.pop_back();
    Node& left = nodes[c.left];
    // Stale when the left node was absorbed (id -1) or either side changed since.
    if (left.id != c.left_id || left.next < 0 || nodes[left.next].id != c.right_id) continue;
    const int right = left.next;
    left.id =
        id_merges_.at((static_cast<uint64_t>(c.left_id) << 32) | static_cast<uint32_t>(c.right_id))
            .merged_id;
    left.next = nodes[right].next;
    if (left.next >= 0) nodes[left.next].prev = c.left;
    nodes[right].id = kNoToken;
    consider(left.prev);
    consider(c.left);
  }
  for (int i = 0; i >= 0 && i < n; i = nodes[i].next) out->push_back(nodes[i].id);
}

absl::Status Tokenizer::EncodeBpeWord(std::string_view word, std::vector<int32_t>* out) const {
  std::string mapped;
  if (pre_tokenizer_->ignore_merges() || !bpe_by_id_) {
    mapped.reserve(word.size() * 2);
    AppendByteLevel(word, &mapped);
  }
  if (pre_tokenizer_->ignore_merges()) {
    const int32_t id = FindToken(mapped);
    if (id != kNoToken) {
      out->push_back(id);
      return absl::OkStatus();
    }
  }
  if (bpe_by_id_) {
    EncodeBpeWordById(word, out);
    return absl::OkStatus();
  }
  std::vector<Symbol> symbols;
  InitSymbols(mapped, &symbols);
  MergeSymbols(mapped, &symbols, [this](std::string_view a, std::string_view b) {
    const int32_t rank = BpeRank(a, b);
    return rank < 0 ? std::nullopt : std::optional<float>(-static_cast<float>(rank));
  });
  for (const Symbol& symbol : symbols) {
    if (symbol.size == 0) continue;
    const std::string_view piece = std::string_view(mapped).substr(symbol.begin, symbol.size);
    const int32_t id = FindToken(piece);
    if (id != kNoToken) {
      out->push_back(id);
      continue;
    }
    std::string bytes;
    DecodeByteLevel(piece, &bytes);  // `mapped` is byte-level text by construction
    for (char c : bytes) RETURN_IF_ERROR(PushByte(static_cast<uint8_t>(c), out));
  }
  return absl::OkStatus();
}

void Tokenizer::AppendDecoded(int32_t id, const DecodeOptions& options, bool* at_start,
                              std::string* out) const {
  std::string_view piece = TokenPiece(id, options.render_special);
  if (piece.empty()) return;
  if (*at_start) {
    *at_start = false;
    if (options.strip_space_prefix && vocab_.add_space_prefix && piece[0] == ' ') {
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
