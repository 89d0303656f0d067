#include "engine/kv_cache/block_table.h"

#include "common/status_matchers.h"
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

}  // namespace
}  // namespace baton::engine
