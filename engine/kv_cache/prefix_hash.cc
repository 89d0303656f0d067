#include "engine/kv_cache/prefix_hash.h"

#include <xxhash.h>

namespace baton::kv_cache {

uint64_t PrefixHashSeed(absl::string_view model_name) {
  return XXH3_64bits(model_name.data(), model_name.size());
}

uint64_t PrefixBlockHash(uint64_t previous, absl::Span<const int32_t> block_tokens) {
  // The previous hash seeds this block's: a block's name depends on everything before it.
  return XXH3_64bits_withSeed(block_tokens.data(), sizeof(int32_t) * block_tokens.size(), previous);
}

std::vector<uint64_t> PrefixBlockHashes(uint64_t seed, absl::Span<const int32_t> tokens,
                                        int block_size_tokens) {
  std::vector<uint64_t> hashes;
  if (block_size_tokens <= 0) return hashes;
  const size_t full_blocks = tokens.size() / static_cast<size_t>(block_size_tokens);
  hashes.reserve(full_blocks);
  uint64_t previous = seed;
  for (size_t b = 0; b < full_blocks; ++b) {
    previous = PrefixBlockHash(previous, tokens.subspan(b * block_size_tokens, block_size_tokens));
    hashes.push_back(previous);
  }
  return hashes;
}

}  // namespace baton::kv_cache
