// loadgen (the //loadgen binary) against a real local cluster: router + prefill + decode worker
// processes serving stories260K on loopback. A short run's accounting holds (sent = completed +
// failed; token totals equal the router's own counters), its percentiles are monotone, a Poisson
// run keeps its requested rate within 10%, and a run whose router is killed halfway ends with a
// summary of what failed instead of hanging.
//
// Rates are low (10 requests/s of a few dozen tokens on a model of 260K parameters) so that a
// loaded 2-core machine keeps up; the 10% bound is checked on the send times, which the client
// controls, after checking that the seeded schedule itself is within 3% of the rate.
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "loadgen/arrivals.h"
#include "nlohmann/json.hpp"
#include "tests/router_process.h"
#include "tests/stories_router_test.h"
#include "tests/worker_process.h"

namespace baton::testing {
namespace {

using Json = nlohmann::json;

constexpr double kRate = 10;
constexpr int kRequests = 120;
// Seed 20's schedule of 120 Poisson arrivals has a rate of 9.985/s (seed 1's: 10.7/s).
constexpr uint64_t kSeed = 20;

// The value of the un-labelled sample `name` in a Prometheus exposition (0 when absent).
double MetricValue(const std::string& exposition, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!absl::ConsumePrefix(&line, name + " ")) continue;
    double value = 0;
    if (absl::SimpleAtod(line, &value)) return value;
  }
  return 0;
}

absl::StatusOr<Json> ReadJson(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  Json json = Json::parse(text.str(), nullptr, false);
  if (json.is_discarded()) return absl::InternalError("no JSON in " + path);
  return json;
}

std::string TmpPath(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

std::vector<std::string> LoadgenArgs(const std::string& backend, int port, const std::string& model,
                                     const std::string& result) {
  return {"--backend=" + backend,
          absl::StrCat("--target=127.0.0.1:", port),
          "--model=" + model,
          "--arrivals=poisson",
          absl::StrCat("--rate=", kRate),
          absl::StrCat("--num_requests=", kRequests),
          absl::StrCat("--seed=", kSeed),
          "--input_tokens=uniform:8:40",
          "--output_tokens=uniform:4:16",
          "--warmup_requests=2",
          "--slo_ttft_ms=2000",
          "--result_json=" + result};
}

class LoadgenClusterTest : public StoriesRouterTest,
                           public ::testing::WithParamInterface<std::string> {
 protected:
  static void SetUpTestSuite() { StartRouter({}); }
  static void TearDownTestSuite() { StopRouter(); }
};

TEST_P(LoadgenClusterTest, ShortRunMatchesTheRoutersCountersAndKeepsThePoissonRate) {
  // The seeded schedule itself has the rate: what remains to check is that loadgen keeps it.
  absl::StatusOr<loadgen::Arrivals> schedule = loadgen::Arrivals::Create(
      {.kind = loadgen::ArrivalKind::kPoisson, .rate = kRate, .seed = kSeed});
  ASSERT_TRUE(schedule.ok());
  double last = 0;
  for (int i = 0; i < kRequests; ++i) last = schedule->NextSendSeconds();
  ASSERT_NEAR((kRequests - 1) / last, kRate, kRate * 0.03) << "pick a seed whose schedule fits";

  const std::string backend = GetParam();
  const int port = backend == "grpc" ? router().grpc_port() : router().http_port();
  ASSERT_OK_AND_ASSIGN(std::string before, router().HttpText("/metrics"));
  const std::string result_path = TmpPath(backend + ".json");
  ASSERT_OK_AND_ASSIGN(
      std::string output,
      RunTool(RunfilePath("loadgen/loadgen"),
              LoadgenArgs(backend, port, golden().model_path, result_path), absl::Seconds(180)));
  ASSERT_OK_AND_ASSIGN(std::string after, router().HttpText("/metrics"));
  ASSERT_OK_AND_ASSIGN(Json result, ReadJson(result_path));

  EXPECT_TRUE(absl::StrContains(output, "Serving Benchmark Result")) << output;
  // stdout is a pipe here, not a terminal: no progress line.
  EXPECT_FALSE(absl::StrContains(output, "\r")) << output;
  EXPECT_EQ(result["sent"], kRequests);
  EXPECT_EQ(result["sent"].get<int>(),
            result["completed"].get<int>() + result["failed"].get<int>());
  EXPECT_EQ(result["completed"], kRequests) << result["errors_by_code"];

  // Every request the router saw, warm-up included, is in the records.
  int64_t prompt_tokens = 0, output_tokens = 0, warmups = 0;
  for (const Json& record : result["requests"]) {
    prompt_tokens += record["prompt_tokens"].get<int64_t>();
    output_tokens += record["output_tokens"].get<int64_t>();
    warmups += record["warmup"].get<bool>();
    if (record["ok"].get<bool>()) {
      EXPECT_EQ(record["output_tokens"], record["expected_output_tokens"]);  // ignore_eos
    }
  }
  EXPECT_EQ(warmups, 2);
  EXPECT_EQ(result["requests"].size(), kRequests + 2u);
  const char* generation = "baton_router_generation_tokens_total";
  const char* prompt = "baton_router_prompt_tokens_total";
  EXPECT_EQ(output_tokens, MetricValue(after, generation) - MetricValue(before, generation));
  EXPECT_EQ(prompt_tokens, MetricValue(after, prompt) - MetricValue(before, prompt));
  EXPECT_EQ(result["total_output_tokens"].get<int64_t>(),
            output_tokens - result["requests"][0]["output_tokens"].get<int64_t>() -
                result["requests"][1]["output_tokens"].get<int64_t>());

  for (const char* metric : {"ttft", "tpot", "itl", "e2el"}) {
    SCOPED_TRACE(metric);
    std::vector<double> ladder;
    for (const char* stat : {"min", "median", "p90", "p95", "p99", "max"}) {
      ladder.push_back(result[absl::StrCat(stat, "_", metric, "_ms")].get<double>());
    }
    EXPECT_GT(ladder.back(), 0);
    for (size_t i = 1; i < ladder.size(); ++i) EXPECT_LE(ladder[i - 1], ladder[i]);
  }
  const double achieved = result["achieved_request_rate"].get<double>();
  EXPECT_NEAR(achieved, kRate, kRate * 0.10);
  EXPECT_LE(result["request_goodput"].get<double>(), result["request_throughput"].get<double>());
}

INSTANTIATE_TEST_SUITE_P(Backends, LoadgenClusterTest, ::testing::Values("grpc", "openai"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(LoadgenRouterKilledTest, EndsWithASummaryOfWhatFailed) {
  const std::optional<StoriesGolden> golden = LoadStoriesGolden();
  if (!golden) GTEST_SKIP() << kNoStoriesGolden;
  RouterClusterOptions options;
  options.workers.model_path = golden->model_path;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RouterCluster> cluster, RouterCluster::Start(options));
  const std::string result_path = TmpPath("killed.json");
  std::vector<std::string> args =
      LoadgenArgs("grpc", cluster->grpc_port(), golden->model_path, result_path);
  args.push_back("--timeout_s=60");

  absl::StatusOr<std::string> output = absl::UnknownError("not run");
  const absl::Time start = absl::Now();
  std::thread run(
      [&] { output = RunTool(RunfilePath("loadgen/loadgen"), args, absl::Seconds(120)); });
  // Halfway: once the router has generated for a third of the requests, kill it.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  bool killed = false;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> metrics = cluster->HttpText("/metrics");
    if (metrics.ok() &&
        MetricValue(*metrics, "baton_router_e2e_request_latency_seconds_count") >= kRequests / 3) {
      cluster->router().Signal(SIGKILL);
      killed = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  run.join();
  ASSERT_TRUE(killed) << "the router never got a third of the way";
  ASSERT_TRUE(output.ok()) << output.status() << " (loadgen did not end on its own)";
  EXPECT_LT(absl::Now() - start, absl::Seconds(100));
  EXPECT_TRUE(absl::StrContains(*output, "Failed: ")) << *output;
  EXPECT_TRUE(absl::StrContains(*output, "grpc:UNAVAILABLE")) << *output;
  ASSERT_OK_AND_ASSIGN(Json result, ReadJson(result_path));
  EXPECT_EQ(result["sent"], kRequests);
  EXPECT_EQ(result["sent"].get<int>(),
            result["completed"].get<int>() + result["failed"].get<int>());
  // The router's count included the two warm-up requests.
  EXPECT_GE(result["completed"].get<int>(), kRequests / 3 - 2);
  EXPECT_GE(result["failed"].get<int>(), 1);
  EXPECT_EQ(result["errors_by_code"]["grpc:UNAVAILABLE"], result["failed"]);
}

}  // namespace
}  // namespace baton::testing
