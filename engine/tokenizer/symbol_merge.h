// The merge loop SentencePiece and byte-level BPE share: a word starts as one symbol per UTF-8
// character, and the adjacent pair with the highest priority is merged into one symbol until no
// pair merges. Only the priority differs: a SentencePiece score, or minus a BPE merge rank.
// Equal priorities merge the leftmost pair first.
//
// Pure functions over the caller's buffers; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <queue>
#include <string_view>
#include <utility>
#include <vector>

namespace baton::engine::tokenizer {

// One symbol of a word being merged: a node of a doubly linked list over the word.
struct MergeSymbol {
  int prev;      // index of the left neighbour, -1 at the start
  int next;      // index of the right neighbour, -1 at the end
  size_t begin;  // byte offset into the word
  size_t size;   // bytes; 0 once merged into its left neighbour
};

// Splits `word` into symbols of one UTF-8 character each (an invalid byte is its own symbol).
void InitMergeSymbols(std::string_view word, std::vector<MergeSymbol>* symbols);

// Merges `symbols` (from InitMergeSymbols over `word`) in place. `priority(left, right)` gives the
// priority of merging two adjacent texts (higher first), or nullopt when they do not merge.
// Afterwards the symbols with a non-zero size, in list order, are the pieces of `word`.
template <typename PriorityFn>
void MergeSymbols(std::string_view word, std::vector<MergeSymbol>* symbols, PriorityFn priority);

// ---- implementation ----

namespace symbol_merge_internal {

// A candidate merge of two adjacent symbols. `size` snapshots left.size + right.size so stale
// entries (either side changed since) are recognized and dropped when popped.
struct Bigram {
  int left;
  int right;
  float priority;
  size_t size;
};

struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.left > b.left;  // equal priority: leftmost first
  }
};

}  // namespace symbol_merge_internal

template <typename PriorityFn>
void MergeSymbols(std::string_view word, std::vector<MergeSymbol>* symbols, PriorityFn priority) {
  using symbol_merge_internal::Bigram;
  using symbol_merge_internal::BigramOrder;
  std::vector<MergeSymbol>& sym = *symbols;
  std::vector<Bigram> storage;
  storage.reserve(sym.size());
  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue(BigramOrder{},
                                                                      std::move(storage));
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const std::string_view a = word.substr(sym[left].begin, sym[left].size);
    const std::string_view b = word.substr(sym[right].begin, sym[right].size);
    if (std::optional<float> p = priority(a, b)) {
      queue.push(Bigram{left, right, *p, a.size() + b.size()});
    }
  };
  for (int i = 1; i < static_cast<int>(sym.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    const Bigram top = queue.top();
    queue.pop();
    MergeSymbol& left = sym[top.left];
    MergeSymbol& right = sym[top.right];
    if (left.size == 0 || right.size == 0 || left.size + right.size != top.size) continue;
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = top.left;
    try_add(left.prev, top.left);
    try_add(top.left, left.next);
  }
}

}  // namespace baton::engine::tokenizer
