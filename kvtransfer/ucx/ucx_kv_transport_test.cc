#include "kvtransfer/ucx/ucx_kv_transport.h"

#include <time.h>

#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "kvtransfer/testing/transport_conformance.h"
#include "kvtransfer/ucx/ucx_status.h"

namespace baton::kvtransfer {
namespace {

using ::baton::testing::StatusIs;
using testing::KvTransportConformanceTest;
using testing::TransportFactory;

TransportFactory Ucx(const std::string& name, const std::string& tls) {
  return TransportFactory{name, [tls]() -> absl::StatusOr<std::unique_ptr<KvTransport>> {
                            UcxKvTransport::Options options;
                            options.ucx_config = {{"TLS", tls}, {"NET_DEVICES", "lo"}};
                            auto transport = UcxKvTransport::Create(options);
                            if (!transport.ok()) return transport.status();
                            return std::unique_ptr<KvTransport>(std::move(*transport));
                          }};
}

INSTANTIATE_TEST_SUITE_P(Ucx, KvTransportConformanceTest,
                         ::testing::Values(Ucx("tcp", "tcp"), Ucx("shm", "posix,cma"),
                                           Ucx("sysv", "sysv")),
                         testing::FactoryName);

TEST(UcxKvTransportTest, BadUcxSettingIsInvalidArgument) {
  UcxKvTransport::Options options;
  options.ucx_config = {{"RNDV_THRESH", "not-a-size"}};
  EXPECT_THAT(UcxKvTransport::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// The progress thread must sleep on the worker's event fd when there is nothing to do: on two
// cores a busy-polling idle worker would halve everyone else's speed.
TEST(UcxKvTransportTest, IdleTransportsBurnNoCpu) {
  for (const std::string tls : {"tcp", "posix,cma", "sysv"}) {
    UcxKvTransport::Options options;
    options.ucx_config = {{"TLS", tls}, {"NET_DEVICES", "lo"}};
    auto transport = UcxKvTransport::Create(options);
    ASSERT_TRUE(transport.ok()) << transport.status();
    absl::SleepFor(absl::Milliseconds(50));  // Let start-up work settle.
    const double before = ProcessCpuSeconds();
    absl::SleepFor(absl::Milliseconds(500));
    const double used = ProcessCpuSeconds() - before;
    EXPECT_LT(used, 0.05) << tls << ": an idle transport used " << used << " s of CPU in 0.5 s";
  }
}

TEST(UcsToStatusTest, MapsPeerFailuresToUnavailable) {
  EXPECT_TRUE(UcsToStatus(UCS_OK, "x").ok());
  EXPECT_THAT(UcsToStatus(UCS_ERR_UNREACHABLE, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(UcsToStatus(UCS_ERR_CONNECTION_RESET, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(UcsToStatus(UCS_ERR_ENDPOINT_TIMEOUT, "x"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(UcsToStatus(UCS_ERR_CANCELED, "x"), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(UcsToStatus(UCS_ERR_TIMED_OUT, "x"), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(UcsToStatus(UCS_ERR_NO_MEMORY, "x"), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(UcsToStatus(UCS_ERR_INVALID_PARAM, "ucp_x"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("ucp_x")));
}

}  // namespace
}  // namespace baton::kvtransfer
