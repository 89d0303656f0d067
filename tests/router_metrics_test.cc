// The router's Prometheus exposition after real traffic: /metrics passes `promtool check
// metrics`, and the vLLM-named metrics (/metrics/vllm, apart because their ':' fails that lint)
// are all there with the model's label and counts that match the traffic.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_matchers.h"
#include "common/testing/http_client.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/stories_router_test.h"

namespace baton::testing {
namespace {

using Json = nlohmann::json;

class RouterMetricsTest : public StoriesRouterTest {
 protected:
  static void SetUpTestSuite() { StartRouter({}); }
  static void TearDownTestSuite() { StopRouter(); }
};

struct Lint {
  int exit_code = -1;
  std::string output;
};

// `promtool check metrics` on `exposition`.
Lint Promtool(const std::string& name, const std::string& exposition) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string in = absl::StrCat(dir, "/", name, ".txt");
  const std::string out = absl::StrCat(dir, "/", name, ".promtool");
  std::ofstream(in) << exposition;
  const int status =
      std::system(absl::StrCat("promtool check metrics < ", in, " > ", out, " 2>&1").c_str());
  std::stringstream output;
  output << std::ifstream(out).rdbuf();
  return {.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1, .output = output.str()};
}

TEST_F(RouterMetricsTest, MetricsPassPromtoolAndVllmNamesCountTheTraffic) {
  ASSERT_EQ(std::system("command -v promtool > /dev/null"), 0)
      << "promtool (Debian package prometheus) is missing: run scripts/setup.sh";
  const std::string& prompt = golden().cases[0].prompt;
  const int32_t prompt_tokens = static_cast<int32_t>(golden().cases[0].prompt_ids.size());
  for (const Json& request :
       {Json({{"prompt", prompt}, {"max_tokens", 8}, {"temperature", 0}}),
        Json({{"prompt", prompt}, {"max_tokens", 5}, {"temperature", 0}, {"stream", true}})}) {
    ASSERT_OK_AND_ASSIGN(HttpResult result,
                         HttpCall(router().http_port(), "POST", "/v1/completions", request.dump()));
    ASSERT_EQ(result.status, 200) << result.body;
  }
  ASSERT_OK_AND_ASSIGN(HttpResult bad, HttpCall(router().http_port(), "POST", "/v1/completions",
                                                R"({"prompt": 5})"));
  ASSERT_EQ(bad.status, 400) << bad.body;

  ASSERT_OK_AND_ASSIGN(std::string metrics, router().HttpText("/metrics"));
  const Lint lint = Promtool("metrics", metrics);
  EXPECT_EQ(lint.exit_code, 0) << lint.output << "\n" << metrics;
  for (const std::string& line : std::vector<std::string>{
           R"(baton_router_requests_total{endpoint="openai_completions",status="200"} 2)",
           R"(baton_router_requests_total{endpoint="openai_completions",status="400"} 1)",
           "baton_router_time_to_first_token_seconds_count 2",
           "baton_router_generation_tokens_total 13",
           "baton_router_prompt_tokens_total " + std::to_string(2 * prompt_tokens)}) {
    EXPECT_TRUE(absl::StrContains(metrics, line)) << "no '" << line << "' in\n" << metrics;
  }

  ASSERT_OK_AND_ASSIGN(std::string vllm, router().HttpText("/metrics/vllm"));
  const std::string model = R"({model_name="stories260K"})";
  for (const std::string& line : std::vector<std::string>{
           absl::StrCat("vllm:time_to_first_token_seconds_count", model, " 2"),
           absl::StrCat("vllm:time_per_output_token_seconds_count", model),
           absl::StrCat("vllm:e2e_request_latency_seconds_count", model, " 2"),
           absl::StrCat("vllm:prompt_tokens_total", model, " ", 2 * prompt_tokens),
           absl::StrCat("vllm:generation_tokens_total", model, " 13"),
           absl::StrCat("vllm:num_requests_running", model, " 0"),
           absl::StrCat("vllm:num_requests_waiting", model, " 0"),
           R"(vllm:request_success_total{finished_reason="length",model_name="stories260K"} 2)",
       }) {
    EXPECT_TRUE(absl::StrContains(vllm, line)) << "no '" << line << "' in\n" << vllm;
  }
  // The vLLM exposition is well-formed: promtool's only complaint is the ':' in vLLM's names.
  const Lint vllm_lint = Promtool("vllm", vllm);
  for (absl::string_view problem : absl::StrSplit(vllm_lint.output, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StrContains(problem, "should not contain ':'")) << problem;
  }
}

}  // namespace
}  // namespace baton::testing
