// The registry with the transports the workers link, plus one registered here: adding a
// transport is a registration, nothing else.
#include "kvtransfer/transport_registry.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kvtransfer/inprocess/inprocess_kv_transport.h"

namespace baton::kvtransfer {
namespace {

using ::baton::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

int g_fake_created = 0;

const bool kFakeRegistered = RegisterTransport("test-fake", [](const TransportSettings& settings) {
  ++g_fake_created;
  EXPECT_EQ(settings.cuda_device, 3);
  return InProcessKvTransport::Create();
});

TEST(TransportRegistryTest, ListsEveryLinkedTransport) {
  EXPECT_TRUE(kFakeRegistered);
  EXPECT_THAT(RegisteredTransportNames(), IsSupersetOf({"ucx", "nccl", "inprocess", "test-fake"}));
}

TEST(TransportRegistryTest, CreatesByName) {
  TransportSettings settings;
  settings.cuda_device = 3;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvTransport> fake,
                       CreateRegisteredTransport("test-fake", settings));
  EXPECT_EQ(g_fake_created, 1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvTransport> inprocess,
                       CreateRegisteredTransport("inprocess", {}));
  EXPECT_EQ(inprocess->Capabilities().name, "inprocess");
  TransportSettings ucx;
  ucx.ucx_config = {{"TLS", "tcp"}, {"NET_DEVICES", "lo"}};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<KvTransport> real, CreateRegisteredTransport("ucx", ucx));
  EXPECT_EQ(real->Capabilities().name, "ucx");
}

TEST(TransportRegistryTest, UnknownNameListsTheRegisteredOnes) {
  absl::StatusOr<std::unique_ptr<KvTransport>> none =
      CreateRegisteredTransport("carrier-pigeon", {});
  EXPECT_THAT(none.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("'carrier-pigeon' (registered: inprocess, nccl, "
                                                "test-fake, ucx)")));
}

TEST(TransportRegistryTest, NcclIsKnownInEveryBuild) {
  // Without --config=cuda it says it needs a CUDA build; with it and no GPU, that there is no
  // device. Never "unknown transport".
  absl::StatusOr<std::unique_ptr<KvTransport>> nccl = CreateRegisteredTransport("nccl", {});
  if (!nccl.ok()) {
    EXPECT_NE(nccl.status().code(), absl::StatusCode::kInvalidArgument) << nccl.status();
  }
}

TEST(TransportRegistryTest, UcxRejectsNegativeSpin) {
  TransportSettings settings;
  settings.progress_spin = absl::Microseconds(-1);
  EXPECT_THAT(CreateRegisteredTransport("ucx", settings).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::kvtransfer
