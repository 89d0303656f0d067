#include "engine/tokenizer/byte_level_bpe_model.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/tokenizer/symbol_merge.h"
#include "engine/tokenizer/utf8.h"

namespace baton::engine::tokenizer {
namespace {

uint64_t PairKey(int32_t left_id, int32_t right_id) {
  return (static_cast<uint64_t>(left_id) << 32) | static_cast<uint32_t>(right_id);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenizerModel>> ByteLevelBpeModel::Create(
    const IndexedVocab& vocab) {
  auto model = std::unique_ptr<ByteLevelBpeModel>(new ByteLevelBpeModel(vocab));
  RETURN_IF_ERROR(model->Init());
  return std::unique_ptr<TokenizerModel>(std::move(model));
}

ByteLevelBpeModel::ByteLevelBpeModel(const IndexedVocab& vocab)
    : vocab_(vocab), bytes_(vocab, [](uint8_t byte) { return std::string(ByteToUnicode(byte)); }) {}

absl::Status ByteLevelBpeModel::Init() {
  const std::vector<std::string>& merges = vocab_.vocab().merges;
  merge_rank_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string& merge = merges[i];
    const size_t space = merge.size() > 1 ? merge.find(' ', 1) : std::string::npos;
    if (space == std::string::npos || space + 1 >= merge.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("BPE merge ", i, " \"", merge, "\" is not two space-separated parts"));
    }
    merge_rank_.emplace(merge, static_cast<int32_t>(i));
  }
  ASSIGN_OR_RETURN(PreTokenizerSpec spec, PreTokenizerSpecFor(vocab_.vocab().pre));
  ASSIGN_OR_RETURN(pre_tokenizer_, PreTokenizer::Create(spec));

  by_id_ = bytes_.complete();
  id_merges_.reserve(merges.size());
  for (size_t i = 0; i < merges.size() && by_id_; ++i) {
    const std::string_view merge = merges[i];
    const size_t space = merge.find(' ', 1);
    const std::string_view left = merge.substr(0, space);
    const std::string_view right = merge.substr(space + 1);
    const int32_t left_id = vocab_.FindToken(left);
    const int32_t right_id = vocab_.FindToken(right);
    const int32_t merged_id = vocab_.FindToken(std::string(left).append(right));
    if (left_id == kNoToken || right_id == kNoToken || merged_id == kNoToken) {
      by_id_ = false;  // a merge outside the vocabulary: use the text path
      break;
    }
    id_merges_.emplace(PairKey(left_id, right_id), IdMerge{static_cast<int32_t>(i), merged_id});
  }
  if (!by_id_) id_merges_.clear();
  return absl::OkStatus();
}

absl::Status ByteLevelBpeModel::Encode(std::string_view text, bool /*after_special*/,
                                       std::vector<int32_t>* out) const {
  std::vector<std::string_view> words;
  pre_tokenizer_->Split(text, &words);
  for (std::string_view word : words) RETURN_IF_ERROR(EncodeWord(word, out));
  return absl::OkStatus();
}

int32_t ByteLevelBpeModel::Rank(std::string_view left, std::string_view right) const {
  thread_local std::string key;
  key.assign(left).append(" ").append(right);
  auto it = merge_rank_.find(key);
  return it == merge_rank_.end() ? -1 : it->second;
}

void ByteLevelBpeModel::EncodeWordById(std::string_view word, std::vector<int32_t>* out) const {
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
    nodes.push_back(Node{bytes_[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1});
  }
  auto consider = [&](int left) {
    if (left < 0 || nodes[left].next < 0) return;
    const int32_t a = nodes[left].id;
    const int32_t b = nodes[nodes[left].next].id;
    auto it = id_merges_.find(PairKey(a, b));
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
    left.id = id_merges_.at(PairKey(c.left_id, c.right_id)).merged_id;
    left.next = nodes[right].next;
    if (left.next >= 0) nodes[left.next].prev = c.left;
    nodes[right].id = kNoToken;
    consider(left.prev);
    consider(c.left);
  }
  for (int i = 0; i >= 0 && i < n; i = nodes[i].next) out->push_back(nodes[i].id);
}

absl::Status ByteLevelBpeModel::EncodeWord(std::string_view word, std::vector<int32_t>* out) const {
  std::string mapped;
  if (pre_tokenizer_->ignore_merges() || !by_id_) {
    mapped.reserve(word.size() * 2);
    AppendByteLevel(word, &mapped);
  }
  if (pre_tokenizer_->ignore_merges()) {
    const int32_t id = vocab_.FindToken(mapped);
    if (id != kNoToken) {
      out->push_back(id);
      return absl::OkStatus();
    }
  }
  if (by_id_) {
    EncodeWordById(word, out);
    return absl::OkStatus();
  }
  std::vector<MergeSymbol> symbols;
  InitMergeSymbols(mapped, &symbols);
  MergeSymbols(mapped, &symbols, [this](std::string_view a, std::string_view b) {
    const int32_t rank = Rank(a, b);
    return rank < 0 ? std::nullopt : std::optional<float>(-static_cast<float>(rank));
  });
  for (const MergeSymbol& symbol : symbols) {
    if (symbol.size == 0) continue;
    const std::string_view piece = std::string_view(mapped).substr(symbol.begin, symbol.size);
    const int32_t id = vocab_.FindToken(piece);
    if (id != kNoToken) {
      out->push_back(id);
      continue;
    }
    std::string bytes;
    DecodeByteLevel(piece, &bytes);  // `mapped` is byte-level text by construction
    for (char c : bytes) RETURN_IF_ERROR(bytes_.Append(static_cast<uint8_t>(c), out));
  }
  return absl::OkStatus();
}

std::string ByteLevelBpeModel::TokenBytes(std::string_view text, TokenType type) const {
  if (type == TokenType::kByte) {
    if (const std::optional<uint8_t> byte = ParseHexByteTokenText(text)) {
      return std::string(1, static_cast<char>(*byte));
    }
  }
  std::string bytes;
  if (!DecodeByteLevel(text, &bytes)) return std::string(text);  // not byte-level spelled: as is
  return bytes;
}

}  // namespace baton::engine::tokenizer
