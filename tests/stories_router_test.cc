#include "tests/stories_router_test.h"

#include "absl/strings/str_cat.h"
#include "tests/router_clients.h"

namespace baton::testing {

void StoriesRouterTest::StartRouter(RouterClusterOptions options) {
  golden_ = LoadStoriesGolden();
  if (!golden_) return;
  options.workers.model_path = golden_->model_path;
  absl::StatusOr<std::unique_ptr<RouterCluster>> router = RouterCluster::Start(options);
  start_status_ = router.status();
  if (router.ok()) router_ = *std::move(router);
}

void StoriesRouterTest::StopRouter() { router_.reset(); }

void StoriesRouterTest::SetUp() {
  if (!golden_) GTEST_SKIP() << kNoStoriesGolden;
  ASSERT_TRUE(start_status_.ok()) << "cluster did not start: " << start_status_;
}

nlohmann::json StoriesRouterTest::HttpSpec(const nlohmann::json& calls, bool parallel) {
  return {{"base", router_->http_base()},
          {"api_key", router_->api_key()},
          {"parallel", parallel},
          {"calls", calls}};
}

nlohmann::json StoriesRouterTest::GrpcSpec(const nlohmann::json& calls) {
  return {{"target", absl::StrCat("127.0.0.1:", router_->grpc_port())},
          {"api_key", router_->api_key()},
          {"calls", calls}};
}

absl::StatusOr<nlohmann::json> StoriesRouterTest::OpenAi(const nlohmann::json& calls,
                                                         bool parallel) {
  return RunNodeClient("openai_calls.mjs", HttpSpec(calls, parallel));
}

absl::StatusOr<nlohmann::json> StoriesRouterTest::Ollama(const nlohmann::json& calls,
                                                         bool parallel) {
  return RunNodeClient("ollama_calls.mjs", HttpSpec(calls, parallel));
}

absl::StatusOr<nlohmann::json> StoriesRouterTest::Grpc(const nlohmann::json& calls) {
  return RunPythonGrpcClient(GrpcSpec(calls));
}

absl::StatusOr<nlohmann::json> StoriesRouterTest::Reflection(const nlohmann::json& calls) {
  return RunNodeClient("grpc_reflection.mjs", GrpcSpec(calls));
}

absl::StatusOr<nlohmann::json> StoriesRouterTest::OpenAiWithKey(const std::string& api_key,
                                                                const nlohmann::json& calls) {
  nlohmann::json spec = HttpSpec(calls, false);
  spec["api_key"] = api_key;
  return RunNodeClient("openai_calls.mjs", spec);
}

absl::StatusOr<nlohmann::json> StoriesRouterTest::GrpcWithKey(const std::string& api_key,
                                                              const nlohmann::json& calls) {
  nlohmann::json spec = GrpcSpec(calls);
  spec["api_key"] = api_key;
  return RunPythonGrpcClient(spec);
}

::testing::AssertionResult CallOk(const nlohmann::json& result) {
  if (result.contains("ok")) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the call failed: " << result.dump();
}

}  // namespace baton::testing
