// Runs on a machine with a GPU (tag "gpu"); elsewhere every test skips with a message.
#include "kvtransfer/nccl/nccl_kv_transport.h"

#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::kvtransfer {
namespace {

TEST(NcclKvTransportTest, CreatesOrExplainsWhyNot) {
  absl::StatusOr<std::unique_ptr<NcclKvTransport>> transport = NcclKvTransport::Create({});
  if (transport.status().code() == absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << "built without --config=cuda: " << transport.status();
  }
  if (transport.status().code() == absl::StatusCode::kUnavailable) {
    GTEST_SKIP() << "no usable GPU here: " << transport.status();
  }
  ASSERT_TRUE(transport.ok()) << transport.status();
  EXPECT_EQ((*transport)->Capabilities().name, kNcclTransportName);
  EXPECT_TRUE((*transport)->Capabilities().device_memory);
}

}  // namespace
}  // namespace baton::kvtransfer
