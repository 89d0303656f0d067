#include "engine/kv_cache/block_table.h"

#include <vector>

#include "common/status_matchers.h"
#include "engine/kv_cache/prefix_hash.h"
#include "gtest/gtest.h"

namespace baton::engine {
namespace {

using ::baton::testing::StatusIs;

TEST(BlockTableTest, ReserveGrowsByBlocksAndReleaseFreesAll) {
  KvLayout layout{.num_layers = 1, .num_kv_heads = 1, .head_dim = 4, .block_size_tokens = 4};
  ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(layout, 3));
  BlockTable table;
  ASSERT_OK(table.Reserve(*pool, 5));  // 2 blocks
  EXPECT_EQ(table.blocks().size(), 2u);
  ASSERT_OK(table.Reserve(*pool, 8));  // still 2
  EXPECT_EQ(table.blocks().size(), 2u);
  EXPECT_THAT(table.Reserve(*pool, 13), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(table.blocks().size(), 2u);
  table.Advance(5);
  EXPECT_EQ(table.num_tokens(), 5);
  ASSERT_OK(table.Release(*pool));
  EXPECT_EQ(pool->num_free(), 3);
  EXPECT_TRUE(table.blocks().empty());
  EXPECT_EQ(table.num_tokens(), 0);
}


TEST(BlockTableTest, PublishedFullBlocksAreAdoptedByTheNextSequence) {
  KvLayout layout{.num_layers = 1, .num_kv_heads = 1, .head_dim = 4, .block_size_tokens = 4};
  ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(layout, 8));
  const uint64_t seed = kv_cache::PrefixHashSeed("model");
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  BlockTable first;
  ASSERT_OK(first.Reserve(*pool, 10));
  first.Advance(6);  // only block 0 is full and written
  ASSERT_OK(first.PublishFullBlocks(*pool, seed, tokens));
  EXPECT_EQ(pool->num_cached(), 1);
  first.Advance(4);
  ASSERT_OK(first.PublishFullBlocks(*pool, seed, tokens));
  EXPECT_EQ(pool->num_cached(), 2);  // the partial third block has no name
  const std::vector<int32_t> first_blocks(first.blocks().begin(), first.blocks().end());
  // The names are prefix_hash's: the router computes the same ones.
  EXPECT_EQ(pool->CountCached(kv_cache::PrefixBlockHashes(seed, tokens, 4)), 2);
  ASSERT_OK(first.Release(*pool));
  EXPECT_EQ(pool->num_free(), 8);

  // Same first block, different second one: only block 0 is shared.
  const std::vector<int32_t> other = {1, 2, 3, 4, 5, 6, 7, 0, 9};
  BlockTable second;
  EXPECT_EQ(second.AdoptCachedPrefix(*pool, seed, other, 10), 1);
  EXPECT_EQ(second.num_tokens(), 4);
  EXPECT_EQ(second.blocks()[0], first_blocks[0]);
  // A cap below the hit, and another model's chain, adopt less.
  BlockTable capped;
  EXPECT_EQ(capped.AdoptCachedPrefix(*pool, seed, tokens, 1), 1);
  BlockTable foreign;
  EXPECT_EQ(foreign.AdoptCachedPrefix(*pool, kv_cache::PrefixHashSeed("other"), tokens, 10), 0);
  EXPECT_EQ(foreign.num_tokens(), 0);
  ASSERT_OK(second.Release(*pool));
  ASSERT_OK(capped.Release(*pool));
  EXPECT_EQ(pool->num_free(), 8);
  EXPECT_EQ(pool->num_cached(), 2);
}

}  // namespace
}  // namespace baton::engine
