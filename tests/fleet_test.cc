// The fleet end to end: real routers in front of two prefill and two decode worker processes
// (KV over UCX tcp on lo), ../shared's stories260K model (token ids in and out).
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cluster.h"
#include "tests/fleet_cluster.h"

namespace baton::testing {
namespace {

constexpr int kPromptTokens = 48;  // above the router's default local prefill threshold
constexpr int kMaxTokens = 4;

class FleetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::optional<std::string> model = StoriesModel();
    if (!model) return;
    FleetClusterOptions options;
    options.model_path = *model;
    options.num_routers = 2;
    absl::StatusOr<std::unique_ptr<FleetCluster>> cluster = FleetCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    if (!StoriesModel()) GTEST_SKIP() << "../shared/models/stories260K.gguf not present";
    ASSERT_NE(cluster_, nullptr);
  }
  void TearDown() override {
    if (cluster_ != nullptr) {
      EXPECT_THAT(cluster_->WaitWorkersIdle(), IsOk());
    }
  }

  // Runs `count` requests on `threads` threads through router `r`; prompt i is SyntheticPrompt
  // seed i (WordPrompt). Returns each request's tokens (empty for a failed one, whose status is logged).
  static std::vector<std::vector<int32_t>> Run(int r, int count, int threads) {
    std::vector<std::vector<int32_t>> outputs(count);
    std::atomic<int> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (int i = next++; i < count; i = next++) {
          absl::StatusOr<StreamResult> result =
              cluster_->Generate(r, WordPrompt(kPromptTokens, i), kMaxTokens);
          if (result.ok()) {
            outputs[i] = result->tokens;
          } else {
            ADD_FAILURE() << "request " << i << " on router " << r << ": " << result.status();
          }
        }
      });
    }
    for (std::thread& t : pool) t.join();
    return outputs;
  }

  static FleetCluster* cluster_;
};

FleetCluster* FleetTest::cluster_ = nullptr;

TEST_F(FleetTest, HundredRequestsUseEveryWorker) {
  std::vector<std::vector<int32_t>> outputs = Run(0, 100, 6);
  for (const auto& tokens : outputs) EXPECT_EQ(tokens.size(), static_cast<size_t>(kMaxTokens));
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(std::string decode, MetricsText(cluster_->decode(i).http_port()));
    ASSERT_OK_AND_ASSIGN(std::string prefill, MetricsText(cluster_->prefill(i).http_port()));
    EXPECT_GT(MetricSum(decode, "baton_decode_requests_total"), 0) << "decode worker " << i;
    EXPECT_GT(MetricSum(prefill, "baton_prefill_requests_total"), 0) << "prefill worker " << i;
  }
  ASSERT_OK_AND_ASSIGN(std::string router, MetricsText(cluster_->router(0).http_port()));
  EXPECT_EQ(MetricSum(router, "baton_router_routing_decisions_total", "pool=\"decode\""), 100);
  EXPECT_GE(MetricSum(router, "baton_router_routing_decisions_total", "pool=\"prefill\""), 100);
  for (int i = 0; i < 2; ++i) {
    const std::string worker = absl::StrCat("worker=\"", FleetCluster::Address(cluster_->decode(i)),
                                            "\"");
    EXPECT_GT(MetricSum(router, "baton_router_routing_decisions_total", worker), 0) << worker;
  }
}

TEST_F(FleetTest, TwoRoutersServeTheSamePoolsConcurrently) {
  std::vector<std::vector<int32_t>> outputs[2];
  std::thread second([&] { outputs[1] = Run(1, 30, 3); });
  outputs[0] = Run(0, 30, 3);
  second.join();
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(outputs[0][i].size(), static_cast<size_t>(kMaxTokens));
    EXPECT_EQ(outputs[0][i], outputs[1][i]) << "prompt " << i;  // greedy: same answer anywhere
  }
  ASSERT_OK_AND_ASSIGN(std::string router, MetricsText(cluster_->router(1).http_port()));
  EXPECT_EQ(MetricSum(router, "baton_router_routing_decisions_total", "pool=\"decode\""), 30);
}

}  // namespace
}  // namespace baton::testing
