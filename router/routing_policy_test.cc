#include "router/routing_policy.h"

#include <map>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::router {
namespace {

namespace v1 = ::baton::internal::v1;
using ::baton::testing::StatusIs;
using ::testing::HasSubstr;

constexpr v1::WorkerRole kPrefill = v1::WORKER_ROLE_PREFILL;
constexpr v1::WorkerRole kDecode = v1::WORKER_ROLE_DECODE;

WorkerView Prefill(const std::string& address, int64_t queued_tokens, int32_t cached_blocks = 0) {
  WorkerView view;
  view.address = address;
  view.load.set_queued_prompt_tokens(queued_tokens);
  view.block_size_tokens = 16;
  view.prompt_tokens = 512;
  view.prompt_blocks = 32;
  view.cached_prefix_blocks = cached_blocks;
  return view;
}

WorkerView Decode(const std::string& address, int32_t running, int32_t free_blocks,
                  int32_t cached_blocks = 0) {
  WorkerView view = Prefill(address, 0, cached_blocks);
  view.load.set_running_sequences(running);
  view.load.set_total_kv_blocks(100);
  view.load.set_free_kv_blocks(free_blocks);
  return view;
}

std::unique_ptr<RoutingPolicy> Make(const std::string& name, double prefix_overlap_weight = 1) {
  absl::StatusOr<std::unique_ptr<RoutingPolicy>> policy = MakeRoutingPolicy(
      name, {.seed = 7, .prefix_overlap_weight = prefix_overlap_weight});
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

TEST(RoutingPolicyTest, UnknownNameListsTheKnownOnes) {
  EXPECT_THAT(MakeRoutingPolicy("fastest"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("round_robin, least_loaded, two_choices, prefix_aware")));
}

TEST(RoutingPolicyTest, RoundRobinTakesEachInTurn) {
  auto policy = Make("round_robin");
  std::vector<WorkerView> workers = {Prefill("a", 0), Prefill("b", 1000), Prefill("c", 0)};
  std::map<size_t, int> picks;
  for (int i = 0; i < 9; ++i) ++picks[policy->Pick(kPrefill, workers)];
  EXPECT_EQ(picks, (std::map<size_t, int>{{0, 3}, {1, 3}, {2, 3}}));
}

TEST(RoutingPolicyTest, LeastLoadedPrefillCountsQueuedAndInFlightTokens) {
  auto policy = Make("least_loaded");
  std::vector<WorkerView> workers = {Prefill("a", 900), Prefill("b", 100), Prefill("c", 500)};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(policy->Pick(kPrefill, workers), 1u);
  workers[1].in_flight_prompt_tokens = 1000;  // this router just sent b a long prompt
  EXPECT_EQ(policy->Pick(kPrefill, workers), 2u);
}

TEST(RoutingPolicyTest, LeastLoadedDecodeCountsSequencesThenFreeBlocks) {
  auto policy = Make("least_loaded");
  std::vector<WorkerView> workers = {Decode("a", 3, 90), Decode("b", 1, 10), Decode("c", 1, 80)};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(policy->Pick(kDecode, workers), 2u);
  workers[2].in_flight = 2;
  EXPECT_EQ(policy->Pick(kDecode, workers), 1u);
}

TEST(RoutingPolicyTest, LeastLoadedSharesEqualWorkers) {
  auto policy = Make("least_loaded");
  std::vector<WorkerView> workers = {Decode("a", 0, 100), Decode("b", 0, 100)};
  std::map<size_t, int> picks;
  for (int i = 0; i < 10; ++i) ++picks[policy->Pick(kDecode, workers)];
  EXPECT_EQ(picks[0], 5);
  EXPECT_EQ(picks[1], 5);
}

TEST(RoutingPolicyTest, TwoChoicesNeverPicksTheBusiestOfThree) {
  auto policy = Make("two_choices");
  std::vector<WorkerView> workers = {Prefill("a", 10), Prefill("b", 5000), Prefill("c", 20)};
  std::map<size_t, int> picks;
  for (int i = 0; i < 300; ++i) ++picks[policy->Pick(kPrefill, workers)];
  EXPECT_EQ(picks[1], 0);
  EXPECT_GT(picks[0], picks[2]);  // a wins every pair it is in
  EXPECT_GT(picks[2], 0);         // c wins the pairs (b, c)
}

TEST(RoutingPolicyTest, PrefixAwarePrefillWeighsCachedTokensAgainstQueue) {
  auto policy = Make("prefix_aware");
  // a holds 30 of the prompt's 32 blocks (480 tokens) but has 200 tokens queued: 232 to
  // compute; b holds nothing and is idle: 512.
  std::vector<WorkerView> workers = {Prefill("a", 200, 30), Prefill("b", 0, 0)};
  EXPECT_EQ(policy->Pick(kPrefill, workers), 0u);
  workers[0].load.set_queued_prompt_tokens(600);  // 632 > 512
  EXPECT_EQ(policy->Pick(kPrefill, workers), 1u);
  // least_loaded ignores the cache.
  workers[0].load.set_queued_prompt_tokens(200);
  EXPECT_EQ(Make("least_loaded")->Pick(kPrefill, workers), 1u);
}

TEST(RoutingPolicyTest, PrefixAwareDecodePrefersTheHolderAtEqualLoad) {
  auto policy = Make("prefix_aware");
  std::vector<WorkerView> workers = {Decode("a", 1, 50, 0), Decode("b", 1, 50, 32)};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(policy->Pick(kDecode, workers), 1u);
  workers[1].load.set_running_sequences(4);  // far busier: load wins over the cache
  EXPECT_EQ(policy->Pick(kDecode, workers), 0u);
}

TEST(RoutingPolicyTest, PrefixOverlapWeightSaysHowMuchLoadTheCacheOutweighs) {
  // b holds the whole prompt but runs 2 sequences more than a.
  const std::vector<WorkerView> workers = {Decode("a", 1, 50, 0), Decode("b", 3, 50, 32)};
  EXPECT_EQ(Make("prefix_aware", 1)->Pick(kDecode, workers), 0u);
  EXPECT_EQ(Make("prefix_aware", 4)->Pick(kDecode, workers), 1u);
  // Half the prompt held at weight 4 is worth 2 sequences: b's extra load still loses.
  const std::vector<WorkerView> half = {Decode("a", 1, 50, 0), Decode("b", 4, 50, 16)};
  EXPECT_EQ(Make("prefix_aware", 4)->Pick(kDecode, half), 0u);
  EXPECT_THAT(MakeRoutingPolicy("prefix_aware", {.prefix_overlap_weight = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
}

}  // namespace
}  // namespace baton::router
