// Overload at the prefill worker with a short decode lease: one prefill worker computing one
// prompt at a time, slowed down per layer, and more concurrent requests than it can finish within
// the decode worker's lease (--lease_ms=1500). The router reserves decode blocks before each
// prompt waits in the prefill queue; it renews that lease while the prompt waits, so every
// request completes (later, not lost) with the text it has alone, and the decode pool returns to
// all free.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "common/status_matchers.h"
#include "common/testing/http_client.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/stories_router_test.h"

namespace baton::testing {
namespace {

using Json = nlohmann::json;

constexpr int kRequests = 8;
constexpr int kLeaseMs = 1500;

class RouterLeaseTest : public StoriesRouterTest {
 protected:
  static void SetUpTestSuite() {
    StartRouter({.workers = {.decode_flags = {absl::StrCat("--lease_ms=", kLeaseMs)},
                             // One prompt per step, each layer 400 ms: a queue of 8 prompts takes
                             // many leases to drain.
                             .prefill_flags = {"--max_batch=1", "--testing_layer_delay_ms=400"}},
                 // Every prompt goes to the prefill worker (none is short enough for the decode
                 // worker to prefill itself), and the router admits them all at once.
                 .router_flags = {"--local_prefill_max_tokens=0",
                                  absl::StrCat("--max_running=", kRequests)}});
  }
  static void TearDownTestSuite() { StopRouter(); }
};

TEST_F(RouterLeaseTest, PromptsQueuedLongerThanTheLeaseAllComplete) {
  const int32_t max_tokens = golden().generated_tokens;
  std::vector<absl::StatusOr<HttpResult>> results(kRequests);
  absl::Barrier* start = new absl::Barrier(kRequests);
  std::vector<std::thread> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.emplace_back([&, i, start] {
      const GoldenCase& golden_case = golden().cases[i % golden().cases.size()];
      const std::string body = Json({{"model", kStoriesModel},
                                     {"prompt", golden_case.prompt},
                                     {"max_tokens", max_tokens},
                                     {"temperature", 0}})
                                   .dump();
      if (start->Block()) delete start;
      results[i] = HttpCall(router().http_port(), "POST", "/v1/completions", body);
    });
  }
  for (std::thread& client : clients) client.join();

  for (int i = 0; i < kRequests; ++i) {
    const GoldenCase& golden_case = golden().cases[i % golden().cases.size()];
    SCOPED_TRACE(absl::StrCat("request ", i, ": ", golden_case.prompt));
    ASSERT_OK(results[i].status());
    ASSERT_EQ(results[i]->status, 200) << results[i]->body;
    EXPECT_EQ(Json::parse(results[i]->body)["choices"][0]["text"], golden_case.generated_text);
  }
  EXPECT_OK(router().WaitWorkersIdle());

  // The premise: some prompt really waited in the prefill queue for longer than a lease (a
  // histogram bucket above the lease: more observations than those up to 2.5 s).
  ASSERT_OK_AND_ASSIGN(std::string metrics,
                       Cluster::Metrics(router().workers().prefill().http_port()));
  const double queued = Cluster::MetricValue(metrics, "baton_prefill_queue_seconds_count");
  const double within =
      Cluster::MetricValue(metrics, R"(baton_prefill_queue_seconds_bucket{le="2.5"})");
  static_assert(kLeaseMs < 2500);
  EXPECT_EQ(queued, kRequests) << metrics;
  EXPECT_GT(queued - within, 0) << "no prompt waited longer than the lease:\n" << metrics;
  RecordProperty("prompts_queued_over_2_5_s", static_cast<int>(queued - within));
  // Kept by renewals (none would be needed if no prompt outlived a lease).
  ASSERT_OK_AND_ASSIGN(std::string decode_metrics,
                       Cluster::Metrics(router().workers().decode().http_port()));
  const double renewals =
      Cluster::MetricValue(decode_metrics, "baton_decode_lease_renewals_total");
  EXPECT_GT(renewals, 0) << decode_metrics;
  RecordProperty("lease_renewals", static_cast<int>(renewals));
}

}  // namespace
}  // namespace baton::testing
