#include "engine/kv_cache/kv_pool.h"

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::engine {
namespace {

using ::baton::testing::StatusIs;

KvLayout SmallLayout() {
  KvLayout layout;
  layout.num_layers = 3;
  layout.num_kv_heads = 2;
  layout.head_dim = 4;
  layout.block_size_tokens = 4;
  layout.dtype = KvDType::kF16;
  return layout;
}

TEST(KvPoolTest, RegionIsPageAlignedContiguousAndZeroed) {
  ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(SmallLayout(), 5));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(pool->base()) % 4096, 0u);
  EXPECT_EQ(pool->size_bytes(), SmallLayout().PoolBytes(5));
  const auto* bytes = static_cast<const uint8_t*>(pool->base());
  for (size_t i = 0; i < pool->size_bytes(); ++i) ASSERT_EQ(bytes[i], 0) << i;
  // Slabs sit where KvLayout::Offset says.
  EXPECT_EQ(pool->Slab(2, 3), bytes + SmallLayout().Offset(2, 3, 5));
  EXPECT_EQ(pool->ValueData(1, 1), pool->KeyData(1, 1) + SmallLayout().HalfSlabBytes());
}

TEST(KvPoolTest, RejectsBadArguments) {
  EXPECT_THAT(KvPool::Create(SmallLayout(), 0).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  KvLayout bad = SmallLayout();
  bad.head_dim = 0;
  EXPECT_THAT(KvPool::Create(bad, 4).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KvPoolTest, ProvidedMemoryIsUsedZeroedAndReleasedOnce) {
  const size_t bytes = SmallLayout().PoolBytes(5);
  ASSERT_OK_AND_ASSIGN(PoolMemory anonymous, AnonymousPoolMemory(bytes));
  void* const base = anonymous.base();
  std::memset(base, 0xAB, bytes);  // Dirty, as recycled memory may be.
  int releases = 0;
  {
    // Wrap the region so that the test sees the release; the inner mapping is freed with it.
    PoolMemory memory(
        base, bytes,
        [&releases, inner = std::move(anonymous)]() mutable {
          ++releases;
          PoolMemory drop = std::move(inner);
        },
        /*zeroed=*/false);
    ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(SmallLayout(), 5, std::move(memory)));
    EXPECT_EQ(pool->base(), base);
    const auto* p = static_cast<const uint8_t*>(pool->base());
    for (size_t i = 0; i < bytes; ++i) ASSERT_EQ(p[i], 0) << i;
    EXPECT_EQ(releases, 0);
  }
  EXPECT_EQ(releases, 1);
}

TEST(KvPoolTest, RejectsUnfitProvidedMemory) {
  const size_t bytes = SmallLayout().PoolBytes(5);
  int releases = 0;
  auto counted = [&releases](void* base, size_t size) {
    return PoolMemory(base, size, [&releases] { ++releases; });
  };
  alignas(4096) static uint8_t region[2 * 4096 + 65536];
  ASSERT_LE(bytes + 8, sizeof(region));
  EXPECT_THAT(KvPool::Create(SmallLayout(), 5, PoolMemory()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(KvPool::Create(SmallLayout(), 5, counted(region + 8, bytes)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(KvPool::Create(SmallLayout(), 5, counted(region, bytes - 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(releases, 2);  // Refused memory is still given back.
}

TEST(KvPoolTest, AllocateAndFreeAccounting) {
  ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(SmallLayout(), 4));
  EXPECT_EQ(pool->num_free(), 4);
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> a, pool->Allocate(3));
  EXPECT_EQ(a, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(pool->num_free(), 1);
  EXPECT_THAT(pool->Allocate(2).status(), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(pool->num_free(), 1);  // all or nothing
  std::vector<int32_t> one = {1};
  ASSERT_OK(pool->Free(one));
  EXPECT_THAT(pool->Free(one), StatusIs(absl::StatusCode::kInvalidArgument));  // double free
  std::vector<int32_t> dup = {0, 0};
  EXPECT_THAT(pool->Free(dup), StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<int32_t> out_of_range = {7};
  EXPECT_THAT(pool->Free(out_of_range), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(pool->num_free(), 2);
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> b, pool->Allocate(2));
  EXPECT_EQ(b, (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(pool->num_allocated(), 4);
}

TEST(KvPoolTest, ConcurrentAllocateFreeKeepsCount) {
  ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(SmallLayout(), 64));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        auto blocks = pool->Allocate(3);
        ASSERT_TRUE(blocks.ok());
        ASSERT_TRUE(pool->Free(*blocks).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(pool->num_free(), 64);
}

TEST(KvPoolTest, ExportImportRoundTrip) {
  ASSERT_OK_AND_ASSIGN(auto src, KvPool::Create(SmallLayout(), 4));
  ASSERT_OK_AND_ASSIGN(auto dst, KvPool::Create(SmallLayout(), 6));
  const size_t n = SmallLayout().LayerBlockBytes();
  for (size_t i = 0; i < n; ++i) src->Slab(1, 2)[i] = static_cast<uint8_t>(i * 7 + 1);
  std::vector<uint8_t> buf(n);
  ASSERT_OK(src->ExportSlab(1, 2, buf));
  ASSERT_OK(dst->ImportSlab(1, 5, buf));
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(dst->Slab(1, 5)[i], src->Slab(1, 2)[i]);
  EXPECT_EQ(dst->Slab(0, 5)[0], 0);  // other layers untouched
  std::vector<uint8_t> short_buf(n - 1);
  EXPECT_THAT(src->ExportSlab(1, 2, short_buf), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(dst->ImportSlab(3, 0, buf), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(dst->ImportSlab(0, 6, buf), StatusIs(absl::StatusCode::kInvalidArgument));
}


// Names blocks as a sequence would: allocate, publish, free.
std::vector<int32_t> CacheBlocks(KvPool& pool, const std::vector<uint64_t>& names) {
  absl::StatusOr<std::vector<int32_t>> blocks = pool.Allocate(static_cast<int32_t>(names.size()));
  EXPECT_TRUE(blocks.ok());
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StatusOr<bool> published = pool.PublishCached((*blocks)[i], names[i]);
    EXPECT_TRUE(published.ok() && *published);
  }
  EXPECT_TRUE(pool.Free(*blocks).ok());
  return *blocks;
}

TEST(KvPoolCacheTest, FreedNamedBlocksStayCachedAndCountAsFree) {
  ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(SmallLayout(), 4));
  const std::vector<int32_t> cached = CacheBlocks(*pool, {11, 12});
  EXPECT_EQ(pool->num_free(), 4);  // evictable blocks are allocatable
  EXPECT_EQ(pool->num_cached(), 2);
  EXPECT_EQ(pool->num_evictable(), 2);
  const std::vector<uint64_t> names = {11, 12, 13};
  EXPECT_EQ(pool->CountCached(names), 2);
  EXPECT_EQ(pool->AcquireCached(names), cached);
  EXPECT_EQ(pool->num_free(), 2);
  EXPECT_EQ(pool->num_evictable(), 0);
  ASSERT_OK(pool->Free(cached));
  EXPECT_EQ(pool->num_evictable(), 2);
  EXPECT_EQ(pool->cache_stats().hit_blocks, 2);
}

TEST(KvPoolCacheTest, ExhaustionCountsEvictableBlocksAsFreeAndEvictsOnlyWhatItMust) {
  ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(SmallLayout(), 4));
  CacheBlocks(*pool, {1, 2, 3});  // blocks 0, 1, 2; block 3 stays free
  // One block: the free one, no eviction.
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> one, pool->Allocate(1));
  EXPECT_EQ(one, std::vector<int32_t>{3});
  EXPECT_EQ(pool->num_cached(), 3);
  // Three more: only evictable blocks are left, and all three go.
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> three, pool->Allocate(3));
  EXPECT_EQ(pool->num_cached(), 0);
  EXPECT_EQ(pool->cache_stats().evicted_blocks, 3);
  EXPECT_THAT(pool->Allocate(1).status(), StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_OK(pool->Free(one));
  ASSERT_OK(pool->Free(three));
  EXPECT_EQ(pool->num_free(), 4);
}

TEST(KvPoolCacheTest, EvictsLeastRecentlyReleasedFirst) {
  ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(SmallLayout(), 3));
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> blocks, pool->Allocate(3));
  for (int i = 0; i < 3; ++i) ASSERT_OK(pool->PublishCached(blocks[i], 100 + i).status());
  // Released in the order 2, 0, 1: block 2 is the oldest evictable one.
  for (int32_t b : {2, 0, 1}) ASSERT_OK(pool->Free(std::vector<int32_t>{b}));
  // Reusing block 2's name makes it the youngest: 0 is now the oldest.
  const std::vector<uint64_t> name2 = {102};
  ASSERT_EQ(pool->AcquireCached(name2), std::vector<int32_t>{2});
  ASSERT_OK(pool->Free(std::vector<int32_t>{2}));
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> first, pool->Allocate(1));
  EXPECT_EQ(first, std::vector<int32_t>{0});
  EXPECT_EQ(pool->CountCached(std::vector<uint64_t>{100}), 0);
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> second, pool->Allocate(1));
  EXPECT_EQ(second, std::vector<int32_t>{1});
  EXPECT_EQ(pool->CountCached(std::vector<uint64_t>{102}), 1);  // youngest survives
}

TEST(KvPoolCacheTest, ABlockReferencedTwiceIsNeitherEvictedNorReusedUntilBothRelease) {
  ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(SmallLayout(), 2));
  const std::vector<uint64_t> names = {7};
  CacheBlocks(*pool, names);
  // Two running sequences share the cached prefix block.
  const std::vector<int32_t> a = pool->AcquireCached(names);
  const std::vector<int32_t> b = pool->AcquireCached(names);
  ASSERT_EQ(a, b);
  EXPECT_EQ(pool->num_free(), 1);
  ASSERT_OK(pool->Free(a));
  EXPECT_EQ(pool->num_free(), 1);  // still referenced by b
  EXPECT_EQ(pool->num_evictable(), 0);
  // Allocation cannot take it while b holds it.
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> other, pool->Allocate(1));
  EXPECT_NE(other, a);
  EXPECT_THAT(pool->Allocate(1).status(), StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_OK(pool->Free(b));
  EXPECT_THAT(pool->Free(b), StatusIs(absl::StatusCode::kInvalidArgument));  // no third ref
  EXPECT_EQ(pool->num_evictable(), 1);
  ASSERT_OK(pool->Free(other));
}

TEST(KvPoolCacheTest, SharedPrefixesOfRunningSequencesDivergeAfterTheSharedBlocks) {
  ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(SmallLayout(), 6));
  CacheBlocks(*pool, {1, 2});  // a prefix of two blocks
  // Sequence A's chain continues with 3, B's with 4: both share blocks named 1 and 2.
  const std::vector<int32_t> a = pool->AcquireCached(std::vector<uint64_t>{1, 2, 3});
  const std::vector<int32_t> b = pool->AcquireCached(std::vector<uint64_t>{1, 2, 4});
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a, b);
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> a_tail, pool->Allocate(1));
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> b_tail, pool->Allocate(1));
  EXPECT_TRUE(pool->PublishCached(a_tail[0], 3).value_or(false));
  // A name already held by another block is not taken twice; the duplicate stays unnamed.
  ASSERT_OK_AND_ASSIGN(bool duplicate, pool->PublishCached(b_tail[0], 3));
  EXPECT_FALSE(duplicate);
  EXPECT_FALSE(pool->PublishCached(a_tail[0], 5).value_or(true));  // already named
  ASSERT_OK(pool->Free(a));
  ASSERT_OK(pool->Free(a_tail));
  ASSERT_OK(pool->Free(b));
  ASSERT_OK(pool->Free(b_tail));
  EXPECT_EQ(pool->num_cached(), 3);
  EXPECT_EQ(pool->num_free(), 6);
  EXPECT_THAT(pool->PublishCached(a_tail[0], 9).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));  // not referenced any more
}

TEST(KvPoolCacheTest, SnapshotThenNetDeltas) {
  ASSERT_OK_AND_ASSIGN(auto pool, KvPool::Create(SmallLayout(), 2));
  CacheBlocks(*pool, {1});
  const KvPool::CacheSnapshot snapshot = pool->Snapshot();
  EXPECT_EQ(snapshot.hashes, std::vector<uint64_t>{1});
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> both, pool->Allocate(2));  // evicts 1
  ASSERT_OK(pool->PublishCached(both[0], 2).status());
  ASSERT_OK(pool->PublishCached(both[1], 3).status());
  ASSERT_OK(pool->Free(both));
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> again, pool->Allocate(1));  // evicts 2 again
  std::optional<KvPool::CacheDelta> delta = pool->EventsSince(snapshot.cursor);
  ASSERT_TRUE(delta.has_value());
  EXPECT_EQ(delta->stored, std::vector<uint64_t>{3});  // 2 came and went
  EXPECT_EQ(delta->removed, std::vector<uint64_t>{1});
  std::optional<KvPool::CacheDelta> none = pool->EventsSince(delta->cursor);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->stored.empty() && none->removed.empty());
  EXPECT_FALSE(pool->EventsSince(delta->cursor + 1).has_value());  // from the future
  ASSERT_OK(pool->Free(again));
}

}  // namespace
}  // namespace baton::engine
