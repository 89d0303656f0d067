// Scrapes /metrics over real HTTP, parses the exposition and lints it with Prometheus' promtool.
#include "common/metrics.h"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/status_matchers.h"
#include "common/testing/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"

namespace baton::common {
namespace {

using ::baton::testing::HttpCall;
using ::testing::HasSubstr;

constexpr char kPromtool[] = "/usr/bin/promtool";

// Sample name (with labels) -> value, from a text exposition.
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos || !absl::SimpleAtod(line.substr(space + 1), &value)) {
      ADD_FAILURE() << "unparsable sample line: " << line;
      continue;
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

// Runs `promtool check metrics` on `exposition`; returns its exit code and output.
std::pair<int, std::string> Promtool(const std::string& exposition) {
  const std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  const std::string path = dir + "/exposition.txt";
  std::ofstream(path) << exposition;
  const std::string command = std::string(kPromtool) + " check metrics < " + path + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char buffer[512];
  while (pipe != nullptr && std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = pipe == nullptr ? -1 : ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_shared<prometheus::Registry>();
    ASSERT_OK_AND_ASSIGN(server_, HttpServer::Create(HttpServerOptions{}));
    MountMetricsAndHealth(*server_, registry_, [this] { return healthy_.load(); });
    ASSERT_OK(server_->Start());
  }

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<bool> healthy_{true};
};

TEST_F(MetricsTest, ScrapedExpositionHasTheValuesAndPassesPromtool) {
  auto& requests = prometheus::BuildCounter()
                       .Name("baton_test_requests_total")
                       .Help("Requests handled")
                       .Register(*registry_);
  requests.Add({{"status", "ok"}}).Increment(3);
  requests.Add({{"status", "error"}}).Increment();
  prometheus::BuildGauge()
      .Name("baton_test_kv_blocks_free")
      .Help("Free KV blocks")
      .Register(*registry_)
      .Add({})
      .Set(42);
  auto& latency = prometheus::BuildHistogram()
                      .Name("baton_test_step_seconds")
                      .Help("Step time")
                      .Register(*registry_)
                      .Add({}, LatencyBucketsSeconds());
  latency.Observe(0.003);
  latency.Observe(0.2);

  ASSERT_OK_AND_ASSIGN(auto scrape, HttpCall(server_->port(), "GET", "/metrics"));
  ASSERT_EQ(scrape.status, 200);
  EXPECT_THAT(scrape.headers["content-type"], HasSubstr("text/plain"));
  const auto samples = ParseSamples(scrape.body);
  EXPECT_EQ(samples.at("baton_test_requests_total{status=\"ok\"}"), 3);
  EXPECT_EQ(samples.at("baton_test_requests_total{status=\"error\"}"), 1);
  EXPECT_EQ(samples.at("baton_test_kv_blocks_free"), 42);
  EXPECT_EQ(samples.at("baton_test_step_seconds_count"), 2);
  EXPECT_EQ(samples.at("baton_test_step_seconds_bucket{le=\"0.005\"}"), 1);
  EXPECT_EQ(samples.at("baton_test_step_seconds_bucket{le=\"+Inf\"}"), 2);

  ASSERT_EQ(access(kPromtool, X_OK), 0) << kPromtool << " missing: run scripts/setup.sh";
  const auto [code, output] = Promtool(scrape.body);
  EXPECT_EQ(code, 0) << output;
}

TEST_F(MetricsTest, PromtoolRejectsABadExposition) {
  // Guards the check above: promtool really lints (a counter must end in _total).
  ASSERT_EQ(access(kPromtool, X_OK), 0) << kPromtool << " missing: run scripts/setup.sh";
  const auto [code, output] =
      Promtool("# HELP bad_requests Requests\n# TYPE bad_requests counter\nbad_requests 1\n");
  EXPECT_NE(code, 0) << output;
}

TEST_F(MetricsTest, HealthzFollowsTheHealthCheck) {
  ASSERT_OK_AND_ASSIGN(auto up, HttpCall(server_->port(), "GET", "/healthz"));
  EXPECT_EQ(up.status, 200);
  EXPECT_EQ(up.body, "ok\n");
  healthy_ = false;
  ASSERT_OK_AND_ASSIGN(auto down, HttpCall(server_->port(), "GET", "/healthz"));
  EXPECT_EQ(down.status, 503);
}

TEST_F(MetricsTest, MetricsRejectsPost) {
  ASSERT_OK_AND_ASSIGN(auto result, HttpCall(server_->port(), "POST", "/metrics", "{}"));
  EXPECT_EQ(result.status, 405);
}

}  // namespace
}  // namespace baton::common
