// Round trips of every internal message (KV handoff, prefill, decode and lease renewal, load
// reports).
#include "gtest/gtest.h"
#include "proto/baton/internal/v1/decode.pb.h"
#include "proto/baton/internal/v1/kv.pb.h"
#include "proto/baton/internal/v1/prefill.pb.h"
#include "proto/baton/internal/v1/worker.pb.h"
#include "proto/testing/proto_round_trip.h"

namespace baton::internal::v1 {
namespace {

TEST(InternalProtoTest, EveryMessageRoundTrips) {
  EXPECT_EQ(proto_testing::ExpectEveryMessageRoundTrips(KvTarget::descriptor()->file()), 3);
  EXPECT_EQ(proto_testing::ExpectEveryMessageRoundTrips(PrefillRequest::descriptor()->file()), 4);
  EXPECT_EQ(proto_testing::ExpectEveryMessageRoundTrips(DecodeRequest::descriptor()->file()), 7);
  EXPECT_EQ(proto_testing::ExpectEveryMessageRoundTrips(WorkerLoad::descriptor()->file()), 4);
}

TEST(InternalProtoTest, DecodeResponseCarriesKvTargetFirst) {
  DecodeResponse first;
  KvTarget* target = first.mutable_kv_target();
  target->set_transfer_id("t-1");
  target->add_block_ids(7);
  target->mutable_layout()->set_num_layers(5);
  DecodeResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(first.SerializeAsString()));
  ASSERT_EQ(parsed.message_case(), DecodeResponse::kKvTarget);
  EXPECT_EQ(parsed.kv_target().block_ids(0), 7);
  EXPECT_EQ(parsed.kv_target().layout().num_layers(), 5);
}

}  // namespace
}  // namespace baton::internal::v1
