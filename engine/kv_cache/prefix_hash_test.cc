#include "engine/kv_cache/prefix_hash.h"

#include <vector>

#include "gtest/gtest.h"

namespace baton::kv_cache {
namespace {

TEST(PrefixHash, OnlyFullBlocksAreNamed) {
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(PrefixBlockHashes(PrefixHashSeed("m"), tokens, 3).size(), 2u);
  EXPECT_TRUE(PrefixBlockHashes(PrefixHashSeed("m"), tokens, 8).empty());
  EXPECT_TRUE(PrefixBlockHashes(PrefixHashSeed("m"), tokens, 0).empty());
}

TEST(PrefixHash, SharedPrefixesShareLeadingHashes) {
  const uint64_t seed = PrefixHashSeed("m");
  const auto a = PrefixBlockHashes(seed, std::vector<int32_t>{1, 2, 3, 4, 5, 6}, 2);
  const auto b = PrefixBlockHashes(seed, std::vector<int32_t>{1, 2, 3, 4, 9, 6}, 2);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[1], b[1]);
  EXPECT_NE(a[2], b[2]);
}

TEST(PrefixHash, ABlocksHashDependsOnEverythingBeforeIt) {
  const uint64_t seed = PrefixHashSeed("m");
  const auto a = PrefixBlockHashes(seed, std::vector<int32_t>{1, 2, 3, 4}, 2);
  const auto b = PrefixBlockHashes(seed, std::vector<int32_t>{9, 2, 3, 4}, 2);
  EXPECT_NE(a[1], b[1]);
}

TEST(PrefixHash, ModelsNeverShareBlocks) {
  const std::vector<int32_t> tokens = {1, 2, 3, 4};
  EXPECT_NE(PrefixBlockHashes(PrefixHashSeed("a"), tokens, 2),
            PrefixBlockHashes(PrefixHashSeed("b"), tokens, 2));
}

TEST(PrefixHash, StableAcrossProcesses) {
  // The router and every worker must agree: the value is fixed by the function, not the process.
  EXPECT_EQ(PrefixBlockHashes(PrefixHashSeed("m"), std::vector<int32_t>{1, 2}, 2),
            PrefixBlockHashes(PrefixHashSeed("m"), std::vector<int32_t>{1, 2}, 2));
  EXPECT_EQ(PrefixHashSeed(""), 0x2D06800538D394C2ull);  // XXH3_64bits of no bytes
}

}  // namespace
}  // namespace baton::kv_cache
