#include "kvtransfer/kv_target_proto.h"

#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::kvtransfer {
namespace {

using ::baton::testing::IsOk;
using ::baton::testing::StatusIs;

TEST(KvTargetProtoTest, RoundTripsEveryField) {
  KvTarget t;
  t.transport = "ucx";
  t.worker_address = std::string("\x00\x01\xff", 3);
  t.remote_keys = {"key-a", "key-b"};
  t.base_address = 0x7f0000001000;
  t.pool_num_blocks = 16;
  t.block_ids = {3, 4, 9};
  t.layout = {16, 8, 64, 16, engine::KvDType::kF16};
  t.transfer_id = 1234567890123ull;
  t.checksum = true;
  t.num_tokens = 40;
  t.lease_deadline = absl::FromUnixMicros(1700000000123456);
  ASSERT_OK_AND_ASSIGN(KvTarget back, KvTargetFromProto(KvTargetToProto(t)));
  EXPECT_EQ(back.transport, t.transport);
  EXPECT_EQ(back.worker_address, t.worker_address);
  EXPECT_EQ(back.remote_keys, t.remote_keys);
  EXPECT_EQ(back.base_address, t.base_address);
  EXPECT_EQ(back.pool_num_blocks, t.pool_num_blocks);
  EXPECT_EQ(back.block_ids, t.block_ids);
  EXPECT_EQ(back.layout, t.layout);
  EXPECT_EQ(back.transfer_id, t.transfer_id);
  EXPECT_TRUE(back.checksum);
  EXPECT_EQ(back.num_tokens, 40);
  EXPECT_EQ(back.lease_deadline, t.lease_deadline);
  EXPECT_EQ(KvTargetToProto(t).regions(0).length_bytes(), t.layout.PoolBytes(16));
}

TEST(KvTargetProtoTest, KvLayoutRoundTripsAndRejectsUnknownDtype) {
  for (engine::KvDType dtype : {engine::KvDType::kF32, engine::KvDType::kF16}) {
    const engine::KvLayout layout = {22, 4, 64, 16, dtype};
    ASSERT_OK_AND_ASSIGN(engine::KvLayout back, KvLayoutFromProto(KvLayoutToProto(layout)));
    EXPECT_EQ(back, layout);
  }
  internal::v1::KvLayout bad = KvLayoutToProto({2, 2, 4, 16, engine::KvDType::kF32});
  bad.set_dtype(static_cast<internal::v1::KvDType>(7));
  EXPECT_THAT(KvLayoutFromProto(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KvTargetProtoTest, RejectsBadPeerInput) {
  KvTarget t;
  t.transport = "ucx";
  t.worker_address = "a";
  t.pool_num_blocks = 4;
  t.block_ids = {1};
  t.layout = {2, 2, 4, 16, engine::KvDType::kF32};
  t.transfer_id = 5;
  internal::v1::KvTarget proto = KvTargetToProto(t);
  EXPECT_THAT(KvTargetFromProto(proto).status(), IsOk());
  internal::v1::KvTarget bad = proto;
  bad.set_transfer_id("five");
  EXPECT_THAT(KvTargetFromProto(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  bad = proto;
  bad.add_block_ids(99);
  EXPECT_THAT(KvTargetFromProto(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  bad = proto;
  bad.mutable_layout()->set_dtype(static_cast<internal::v1::KvDType>(7));
  EXPECT_THAT(KvTargetFromProto(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::kvtransfer
