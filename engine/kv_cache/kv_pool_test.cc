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

}  // namespace
}  // namespace baton::engine
