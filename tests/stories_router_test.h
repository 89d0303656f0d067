// Test support: a fixture for end-to-end tests of the router on stories260K. Each suite starts
// one RouterCluster (workers + router as processes on loopback) in SetUpTestSuite and stops it
// in TearDownTestSuite; every test is skipped, with a message, when ../shared is absent. The
// helpers run the third-party clients of tests/clients/ with the router's address and API key
// filled into their spec.
//
//   class MyTest : public StoriesRouterTest {
//    protected:
//     static void SetUpTestSuite() { StartRouter({.router_flags = {"--max_running=2"}}); }
//     static void TearDownTestSuite() { StopRouter(); }
//   };
//
// Threading: the helpers may be called from several threads once SetUp ran.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/router_process.h"
#include "tests/stories_golden.h"

namespace baton::testing {

// The name the router serves stories260K.gguf under (the file's base name).
inline constexpr char kStoriesModel[] = "stories260K";

class StoriesRouterTest : public ::testing::Test {
 protected:
  // Starts the suite's cluster with `options` (the model path is filled in), unless ../shared
  // is absent. A failure to start fails every test of the suite.
  static void StartRouter(RouterClusterOptions options);
  static void StopRouter();

  // Skips without ../shared; fails when the cluster did not start.
  void SetUp() override;

  static RouterCluster& router() { return *router_; }
  static const StoriesGolden& golden() { return *golden_; }

  // Run the calls (the scripts' "calls" array) through tests/clients/<client> and return its
  // results array. OpenAi and Ollama take "parallel" to make the calls all at once.
  static absl::StatusOr<nlohmann::json> OpenAi(const nlohmann::json& calls, bool parallel = false);
  static absl::StatusOr<nlohmann::json> Ollama(const nlohmann::json& calls, bool parallel = false);
  static absl::StatusOr<nlohmann::json> Grpc(const nlohmann::json& calls);
  static absl::StatusOr<nlohmann::json> Reflection(const nlohmann::json& calls);

  // The same with the API key replaced (empty: no key).
  static absl::StatusOr<nlohmann::json> OpenAiWithKey(const std::string& api_key,
                                                      const nlohmann::json& calls);
  static absl::StatusOr<nlohmann::json> GrpcWithKey(const std::string& api_key,
                                                    const nlohmann::json& calls);

 private:
  static nlohmann::json HttpSpec(const nlohmann::json& calls, bool parallel);
  static nlohmann::json GrpcSpec(const nlohmann::json& calls);

  static inline std::optional<StoriesGolden> golden_;
  static inline std::unique_ptr<RouterCluster> router_;
  static inline absl::Status start_status_;
};

// Success when a client's result is {"ok": ...}; the result otherwise, for the failure message.
::testing::AssertionResult CallOk(const nlohmann::json& result);

}  // namespace baton::testing
