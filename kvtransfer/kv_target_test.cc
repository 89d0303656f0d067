#include "kvtransfer/kv_target.h"

#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "kvtransfer/checksum.h"
#include "kvtransfer/write_plan.h"

namespace baton::kvtransfer {
namespace {

using ::baton::testing::IsOk;
using ::baton::testing::StatusIs;

KvTarget GoodTarget() {
  KvTarget t;
  t.transport = "ucx";
  t.worker_address = "addr";
  t.pool_num_blocks = 8;
  t.block_ids = {1, 2, 5};
  t.layout = {2, 2, 4, 16, engine::KvDType::kF16};
  t.transfer_id = 3;
  return t;
}

TEST(KvTargetTest, ValidatesStructure) {
  EXPECT_THAT(ValidateTarget(GoodTarget()), IsOk());
  KvTarget t = GoodTarget();
  t.block_ids = {1, 8};
  EXPECT_THAT(ValidateTarget(t), StatusIs(absl::StatusCode::kInvalidArgument));
  t = GoodTarget();
  t.block_ids = {1, 1};
  EXPECT_THAT(ValidateTarget(t), StatusIs(absl::StatusCode::kInvalidArgument));
  t = GoodTarget();
  t.transfer_id = 0;
  EXPECT_THAT(ValidateTarget(t), StatusIs(absl::StatusCode::kInvalidArgument));
  t = GoodTarget();
  t.layout.head_dim = 0;
  EXPECT_THAT(ValidateTarget(t), StatusIs(absl::StatusCode::kInvalidArgument));
  t = GoodTarget();
  t.worker_address.clear();
  EXPECT_THAT(ValidateTarget(t), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KvTargetTest, LayoutMismatchIsFailedPrecondition) {
  KvTarget t = GoodTarget();
  engine::KvLayout source = t.layout;
  EXPECT_THAT(CheckLayoutCompatible(source, t), IsOk());
  source.dtype = engine::KvDType::kF32;
  EXPECT_THAT(CheckLayoutCompatible(source, t),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::HasSubstr("f32")));
}

TEST(WritePlanTest, RunsAreConsecutiveOnBothSides) {
  const std::vector<int32_t> src = {0, 1, 2, 3, 6, 7};
  const std::vector<int32_t> dst = {7, 3, 4, 5, 10, 11};
  std::vector<SlabRun> runs = PlanLayer(src, dst, 2, 100);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].first_index, 0);
  EXPECT_EQ(runs[0].count, 1);
  EXPECT_EQ(runs[1].first_index, 1);
  EXPECT_EQ(runs[1].count, 3);
  EXPECT_EQ(runs[2].first_index, 4);
  EXPECT_EQ(runs[2].count, 2);
  EXPECT_EQ(runs[2].layer, 2);
  EXPECT_EQ(PlanLayer(src, dst, 0, 2).size(), 4u);
}

TEST(ChecksumTest, DetectsSingleBitFlipsAnywhere) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  const uint64_t base = KvChecksum(data.data(), data.size());
  EXPECT_EQ(base, KvChecksum(data.data(), data.size()));
  for (size_t i : {0u, 7u, 8u, 31u, 32u, 500u, 991u, 999u}) {
    std::string flipped = data;
    flipped[i] ^= 1;
    EXPECT_NE(KvChecksum(flipped.data(), flipped.size()), base) << i;
  }
  EXPECT_NE(KvChecksum(data.data(), 999), base);
}

}  // namespace
}  // namespace baton::kvtransfer
