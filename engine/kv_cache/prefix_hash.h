// Names full KV blocks by their content: block i's hash chains block i-1's hash with block i's
// token ids, so equal hashes mean equal prefixes (up to 64-bit collisions). Workers key their
// prefix caches by it and the router computes the same values from a prompt to score how much of
// it a worker holds, so the function is part of the wire contract (PrefixCacheEvents).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace baton::kv_cache {

// The chain's starting value for a model: blocks of different models never share a hash.
uint64_t PrefixHashSeed(absl::string_view model_name);

// The hash of a block of tokens following the block named `previous` (the seed for the first
// block): one link of PrefixBlockHashes's chain, for callers that name blocks as they fill.
uint64_t PrefixBlockHash(uint64_t previous, absl::Span<const int32_t> block_tokens);

// The hashes of the full blocks of `tokens` (a trailing partial block has none).
std::vector<uint64_t> PrefixBlockHashes(uint64_t seed, absl::Span<const int32_t> tokens,
                                        int block_size_tokens);

}  // namespace baton::kv_cache
