#include "deploy/local/cluster_plan.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::deploy {
namespace {

using ::baton::testing::StatusIs;
using ::testing::Contains;

LaunchOptions Options() {
  LaunchOptions options;
  options.bin_dir = "/b";
  options.model = "/m.gguf";
  return options;
}

TEST(ClusterPlanTest, DecodeThenPrefillWorkersWithTheirFlags) {
  LaunchOptions options = Options();
  options.prefill_workers = 2;
  options.decode_workers = 2;
  options.threads = 3;
  options.ucx_tls = "tcp";
  options.tls_flags = {"--tls_ca=/ca.pem"};
  std::vector<ChildSpec> specs = WorkerSpecs(options);
  ASSERT_EQ(specs.size(), 4u);
  EXPECT_EQ(specs[0].name, "decode-0");
  EXPECT_EQ(specs[1].name, "decode-1");
  EXPECT_EQ(specs[2].name, "prefill-0");
  EXPECT_EQ(specs[2].binary, "/b/prefill_worker/prefill_worker");
  EXPECT_THAT(specs[2].args, Contains("--threads=3"));
  EXPECT_THAT(specs[2].args, Contains("--grpc_port=0"));
  EXPECT_THAT(specs[2].args, Contains("--tls_ca=/ca.pem"));
  EXPECT_THAT(specs[2].env, Contains("UCX_TLS=tcp"));
  EXPECT_THAT(specs[2].env, Contains("UCX_NET_DEVICES=lo"));
}

TEST(ClusterPlanTest, PortBaseGivesEachWorkerTwoPorts) {
  LaunchOptions options = Options();
  options.worker_port_base = 9000;
  std::vector<ChildSpec> specs = WorkerSpecs(options);
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_THAT(specs[0].args, Contains("--grpc_port=9000"));
  EXPECT_THAT(specs[0].args, Contains("--http_port=9001"));
  EXPECT_THAT(specs[1].args, Contains("--grpc_port=9002"));
}

TEST(ClusterPlanTest, ColocatedStartsNoPrefillWorker) {
  LaunchOptions options = Options();
  options.colocated = true;
  options.prefill_workers = 3;
  std::vector<ChildSpec> specs = WorkerSpecs(options);
  ASSERT_EQ(specs.size(), 1u);
  ChildSpec router = RouterSpec(options, {"127.0.0.1:1"}, {});
  EXPECT_THAT(router.args, Contains("--prefill="));
}

TEST(ClusterPlanTest, RouterGetsCommaLists) {
  ChildSpec router = RouterSpec(Options(), {"127.0.0.1:1", "127.0.0.1:2"}, {"127.0.0.1:3"});
  EXPECT_EQ(router.binary, "/b/router/router");
  EXPECT_THAT(router.args, Contains("--decode=127.0.0.1:1,127.0.0.1:2"));
  EXPECT_THAT(router.args, Contains("--prefill=127.0.0.1:3"));
  EXPECT_THAT(router.args, Contains("--model_name=baton"));
}

TEST(ClusterPlanTest, TlsReachesEveryProcessAndThePublicApiNeedsNoClientCertificate) {
  LaunchOptions options = Options();
  options.tls_flags = {"--tls_cert=/c.pem", "--tls_key=/k.pem", "--tls_ca=/ca.pem"};
  ChildSpec router = RouterSpec(options, {"127.0.0.1:1"}, {});
  EXPECT_THAT(router.args, Contains("--tls_ca=/ca.pem"));
  EXPECT_THAT(router.args, Contains("--tls_client_auth=false"));
  EXPECT_THAT(WorkerSpecs(options)[0].args, Contains("--tls_cert=/c.pem"));
  EXPECT_THAT(WorkerSpecs(options)[0].args, ::testing::Not(Contains("--tls_client_auth=false")));
  options.tls_flags.push_back("--tls_client_auth=true");
  EXPECT_THAT(RouterSpec(options, {"127.0.0.1:1"}, {}).args,
              ::testing::Not(Contains("--tls_client_auth=false")));
  EXPECT_THAT(RouterSpec(Options(), {"127.0.0.1:1"}, {}).args,
              ::testing::Not(Contains("--tls_client_auth=false")));
}

TEST(ClusterPlanTest, RejectsBadCounts) {
  LaunchOptions options = Options();
  options.decode_workers = 0;
  EXPECT_THAT(ValidateLaunch(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options = Options();
  options.threads = 0;
  EXPECT_THAT(ValidateLaunch(options), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(ValidateLaunch(Options()));
}

}  // namespace
}  // namespace baton::deploy
