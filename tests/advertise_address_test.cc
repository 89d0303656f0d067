// Workers listening on every interface tell routers (WorkerLoad.address) a routable address,
// never loopback: --advertise_address first, then POD_IP from the environment (Kubernetes),
// then this machine's first non-loopback IPv4 address.
#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "serving/advertise.h"
#include "tests/cluster.h"
#include "tests/worker_process.h"

namespace baton::testing {
namespace {

class AdvertiseAddressTest : public ::testing::TestWithParam<const char*> {};

// The host a worker (`binary`) started with `flags` and `env` reports in GetLoad.
absl::StatusOr<std::string> Advertised(const std::string& binary, const std::string& model,
                                       const std::vector<std::string>& flags,
                                       const std::vector<std::string>& env) {
  std::vector<std::string> args = {absl::StrCat("--model=", model), "--host=0.0.0.0",
                                   "--transport=ucx"};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<std::string> full_env = UcxEnvironment();
  // The worker pins UCX to the advertised interface itself.
  std::erase_if(full_env,
                [](const std::string& e) { return e.rfind("UCX_NET_DEVICES=", 0) == 0; });
  full_env.insert(full_env.end(), env.begin(), env.end());
  absl::StatusOr<std::unique_ptr<WorkerProcess>> worker =
      WorkerProcess::Start(RunfilePath(binary), args, full_env);
  if (!worker.ok()) return worker.status();
  absl::StatusOr<baton::internal::v1::WorkerLoad> load = Cluster::GetLoad((*worker)->grpc_port());
  if (!load.ok()) return load.status();
  EXPECT_EQ(load->address(), absl::StrCat(load->address().substr(0, load->address().rfind(':')),
                                          ":", (*worker)->grpc_port()));
  return load->address().substr(0, load->address().rfind(':'));
}

TEST_P(AdvertiseAddressTest, FlagThenPodIpThenANonLoopbackAddress) {
  absl::StatusOr<std::string> machine = serving::AdvertiseHost("", "", "0.0.0.0");
  if (!machine.ok()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address";
  ASSERT_OK_AND_ASSIGN(std::string model, MakeRandomModel("q4_0", 2));

  ASSERT_OK_AND_ASSIGN(std::string by_default, Advertised(GetParam(), model, {}, {}));
  EXPECT_EQ(by_default, *machine);
  EXPECT_NE(by_default.rfind("127.", 0), 0u) << by_default;

  ASSERT_OK_AND_ASSIGN(std::string from_pod_ip,
                       Advertised(GetParam(), model, {}, {"POD_IP=10.1.2.3"}));
  EXPECT_EQ(from_pod_ip, "10.1.2.3");

  ASSERT_OK_AND_ASSIGN(std::string from_flag,
                       Advertised(GetParam(), model, {"--advertise_address=worker-7.example"},
                                  {"POD_IP=10.1.2.3"}));
  EXPECT_EQ(from_flag, "worker-7.example");
}

INSTANTIATE_TEST_SUITE_P(BothWorkers, AdvertiseAddressTest,
                         ::testing::Values("decode_worker/decode_worker",
                                           "prefill_worker/prefill_worker"));

}  // namespace
}  // namespace baton::testing
