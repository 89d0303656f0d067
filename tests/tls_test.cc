// TLS end to end with certificates made at test time (tests/make_test_certs.sh, openssl): the
// router serves HTTPS and gRPC over TLS and talks to the workers over mutual TLS; a client that
// trusts another CA is refused on both public ports, and a worker refuses clients without a
// certificate from its CA.
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/grpc_credentials.h"
#include "common/grpc_health.h"
#include "common/status_matchers.h"
#include "common/tls.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/baton/v1/inference.grpc.pb.h"
#include "tests/cluster.h"
#include "tests/router_process.h"
#include "tests/worker_process.h"

namespace baton::testing {
namespace {

using ::baton::testing::StatusIs;

std::string CertDir() { return absl::StrCat(std::getenv("TEST_TMPDIR"), "/certs"); }
std::string Cert(const std::string& name) { return absl::StrCat(CertDir(), "/", name); }

common::TlsMaterial Material(const std::string& ca, const std::string& cert = "",
                             const std::string& key = "") {
  common::TlsFiles files;
  files.ca_file = ca.empty() ? "" : Cert(ca);
  files.cert_file = cert.empty() ? "" : Cert(cert);
  files.key_file = key.empty() ? "" : Cert(key);
  absl::StatusOr<common::TlsMaterial> material = common::LoadTls(files);
  EXPECT_OK(material.status());
  return material.ok() ? *material : common::TlsMaterial{};
}

// ListModels on the router's public gRPC API through `channel`.
grpc::Status ListModels(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = baton::v1::Inference::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  baton::v1::ListModelsRequest request;
  baton::v1::ListModelsResponse response;
  return stub->ListModels(&context, request, &response);
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::string> made =
        RunTool("/bin/bash", {RunfilePath("tests/make_test_certs.sh"), CertDir()});
    ASSERT_TRUE(made.ok()) << made.status();
  }
};

TEST_F(TlsTest, RouterOverHttpsAndGrpcTlsWithMutualTlsToWorkers) {
  ASSERT_OK_AND_ASSIGN(std::string model, MakeRandomModel("q4_0", 5));
  const std::vector<std::string> tls = {absl::StrCat("--tls_cert=", Cert("node.pem")),
                                        absl::StrCat("--tls_key=", Cert("node.key")),
                                        absl::StrCat("--tls_ca=", Cert("ca.pem"))};
  RouterClusterOptions options;
  options.workers.model_path = model;
  options.workers.decode_flags = tls;
  options.workers.prefill_flags = tls;
  options.router_flags = tls;
  // The public API does not ask clients for certificates; the workers do (mutual TLS).
  options.router_flags.push_back("--tls_client_auth=false");
  options.router_flags.push_back("--model_name=baton");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RouterCluster> cluster, RouterCluster::Start(options));
  const std::string url = absl::StrCat("https://127.0.0.1:", cluster->http_port(), "/v1/completions");
  const std::string body =
      R"({"model": "baton", "prompt": "Once upon a time", "max_tokens": 6, "temperature": 0})";

  // HTTPS through the router, which reaches both workers over mutual TLS.
  ASSERT_OK_AND_ASSIGN(std::string answer,
                       RunTool("/usr/bin/curl", {"-sS", "--fail", "--max-time", "60", "--cacert",
                                                 Cert("ca.pem"), "-H",
                                                 "Content-Type: application/json", "-d", body,
                                                 url}));
  const nlohmann::json json = nlohmann::json::parse(answer);
  EXPECT_GT(json["usage"]["completion_tokens"].get<int>(), 0) << answer;

  // A client trusting another CA is refused; so is plain HTTP on the HTTPS port.
  EXPECT_FALSE(RunTool("/usr/bin/curl", {"-sS", "--fail", "--max-time", "30", "--cacert",
                                          Cert("other-ca.pem"), "-d", body, url})
                   .ok());
  EXPECT_FALSE(RunTool("/usr/bin/curl",
                       {"-sS", "--fail", "--max-time", "30",
                        absl::StrCat("http://127.0.0.1:", cluster->http_port(), "/health")})
                   .ok());

  // gRPC API: TLS with the right CA works, another CA or plaintext is refused.
  const std::string grpc_address = absl::StrCat("127.0.0.1:", cluster->grpc_port());
  EXPECT_TRUE(ListModels(common::MakeWorkerChannel(grpc_address, Material("ca.pem"))).ok());
  const grpc::Status wrong_ca =
      ListModels(common::MakeWorkerChannel(grpc_address, Material("other-ca.pem")));
  EXPECT_EQ(wrong_ca.error_code(), grpc::StatusCode::UNAVAILABLE) << wrong_ca.error_message();
  EXPECT_FALSE(ListModels(common::MakeWorkerChannel(grpc_address, {})).ok());

  // A worker requires a client certificate from its CA.
  const std::string decode = absl::StrCat("127.0.0.1:", cluster->workers().decode().grpc_port());
  ASSERT_OK_AND_ASSIGN(bool serving,
                       common::CheckGrpcHealth(common::MakeWorkerChannel(
                                                   decode, Material("ca.pem", "node.pem", "node.key")),
                                               absl::Seconds(20)));
  EXPECT_TRUE(serving);
  EXPECT_THAT(common::CheckGrpcHealth(common::MakeWorkerChannel(decode, Material("ca.pem")),
                                      absl::Seconds(20))
                  .status(),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(common::CheckGrpcHealth(
                   common::MakeWorkerChannel(decode,
                                             Material("ca.pem", "stranger.pem", "stranger.key")),
                   absl::Seconds(20))
                   .ok());
}

TEST_F(TlsTest, BadTlsFlagsAreAClearStartupError) {
  absl::StatusOr<std::string> out =
      RunTool(RunfilePath("decode_worker/decode_worker"),
              {"--model=/nonexistent.gguf", absl::StrCat("--tls_cert=", Cert("node.pem"))});
  EXPECT_FALSE(out.ok());
  common::TlsFiles only_cert;
  only_cert.cert_file = Cert("node.pem");
  EXPECT_THAT(common::LoadTls(only_cert).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  common::TlsFiles missing;
  missing.ca_file = Cert("no-such.pem");
  EXPECT_THAT(common::LoadTls(missing).status(), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace baton::testing
