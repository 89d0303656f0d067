// 32 concurrent requests of mixed prompt and output lengths through real workers over UCX: each
// output equals its own single-request output, and the decode worker really batched them.
#include <thread>

#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/cluster.h"

namespace baton::testing {
namespace {

TEST(ConcurrencyTest, ThirtyTwoMixedRequestsAllCorrectAndBatched) {
  ASSERT_OK_AND_ASSIGN(std::string model, MakeRandomModel("q4_0", 3));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Cluster> cluster,
                       Cluster::Start({.model_path = model,
                                       .decode_flags = {"--max_batch=32"},
                                       .prefill_flags = {"--max_batch_tokens=128"}}));
  constexpr int kRequests = 32;
  std::vector<std::vector<int32_t>> prompts;
  std::vector<int32_t> lengths;
  for (int i = 0; i < kRequests; ++i) {
    prompts.push_back(SyntheticPrompt(1 + (i * 29) % 90, 200 + i));
    lengths.push_back(4 + (i * 17) % 60);
  }
  // Each request's own single-request output, computed by the worker pair one at a time.
  std::vector<std::vector<int32_t>> alone(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_OK_AND_ASSIGN(router::DisaggResult r,
                         cluster->client().Generate(GreedyRequest(prompts[i], lengths[i])));
    alone[i] = r.tokens;
    ASSERT_EQ(alone[i].size(), static_cast<size_t>(lengths[i]));
  }
  // A spot check that one at a time is the single-process reference.
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> reference,
                       GenerateReference(model, prompts[5], lengths[5]));
  EXPECT_EQ(alone[5], reference);

  std::vector<absl::StatusOr<router::DisaggResult>> results(kRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      // Every fourth request is colocated, so local prefill chunks mix with decode steps.
      results[i] =
          cluster->client().Generate(GreedyRequest(prompts[i], lengths[i], /*local=*/i % 4 == 0));
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_OK(results[i].status()) << "request " << i;
    EXPECT_EQ(results[i]->tokens, alone[i]) << "request " << i;
  }
  ASSERT_OK_AND_ASSIGN(std::string metrics, Cluster::Metrics(cluster->decode().http_port()));
  const double max_batch = Cluster::MetricValue(metrics, "baton_decode_max_batch_size");
  EXPECT_GT(max_batch, 1.0) << "no engine step ran more than one sequence";
  RecordProperty("decode_max_batch_size", static_cast<int>(max_batch));
  EXPECT_OK(cluster->WaitDecodeIdle());
}

}  // namespace
}  // namespace baton::testing
