// The router's gRPC API (baton.v1.Inference) through clients that are not baton's: Debian's
// python3-grpcio with stubs generated from inference.proto at test time (Generate, ListModels,
// Tokenize, API keys in metadata, error codes), and grpc-js-reflection-client, which finds the
// services and calls one knowing only what server reflection tells it.
#include <string>

#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/stories_router_test.h"

namespace baton::testing {
namespace {

using Json = nlohmann::json;

constexpr char kApiKey[] = "grpc-e2e-key";

class RouterGrpcClientTest : public StoriesRouterTest {
 protected:
  static void SetUpTestSuite() { StartRouter({.api_keys = {kApiKey}}); }
  static void TearDownTestSuite() { StopRouter(); }
};

Json GreedyGenerate(Json prompt, int32_t max_tokens) {
  Json request = {{"model", kStoriesModel},
                  {"sampling", {{"temperature", 0}, {"max_tokens", max_tokens}}}};
  request.update(prompt);
  return {{"rpc", "Generate"}, {"request", request}};
}

TEST_F(RouterGrpcClientTest, GenerateFromTextAndFromTokenIdsEqualsTheGolden) {
  const GoldenCase& golden_case = golden().cases[1];
  const int32_t max_tokens = golden().generated_tokens;
  ASSERT_OK_AND_ASSIGN(
      Json results,
      Grpc(Json::array(
          {GreedyGenerate({{"text", golden_case.prompt}}, max_tokens),
           GreedyGenerate({{"token_ids", {{"ids", golden_case.prompt_ids}}}}, max_tokens)})));
  const int32_t prompt_tokens = static_cast<int32_t>(golden_case.prompt_ids.size());
  for (const Json& result : results) {
    ASSERT_TRUE(CallOk(result));
    const Json& ok = result["ok"];
    EXPECT_EQ(ok["text"], golden_case.generated_text);
    EXPECT_EQ(ok["token_ids"], golden_case.generated_ids);
    EXPECT_EQ(ok["finish_reason"], "FINISH_REASON_LENGTH");
    EXPECT_EQ(ok["usage"], Json({{"prompt_tokens", prompt_tokens},
                                 {"completion_tokens", max_tokens},
                                 {"total_tokens", prompt_tokens + max_tokens}}));
    EXPECT_GT(ok["messages"], 2) << "a stream of " << max_tokens << " tokens in one message";
    EXPECT_FALSE(ok["early_final_fields"]) << "finish_reason or usage before the final message";
    EXPECT_FALSE(ok["request_id"].get<std::string>().empty());
  }
}

TEST_F(RouterGrpcClientTest, ListModelsAndTokenize) {
  const GoldenCase& golden_case = golden().cases[0];
  ASSERT_OK_AND_ASSIGN(
      Json results,
      Grpc(Json::array(
          {{{"rpc", "ListModels"}},
           {{"rpc", "Tokenize"},
            {"request",
             {{"model", kStoriesModel}, {"text", golden_case.prompt}, {"add_special", true}}}},
           {{"rpc", "Tokenize"},
            {"request",
             {{"chat", {{"messages", Json::array({{{"role", "user"}, {"content", "Hi"}}})}}}}}}})));
  for (const Json& result : results) ASSERT_TRUE(CallOk(result));
  const Json& models = results[0]["ok"]["models"];
  ASSERT_EQ(models.size(), 1u) << models.dump();
  EXPECT_EQ(models[0]["id"], kStoriesModel);
  EXPECT_EQ(models[0]["architecture"], "llama");
  EXPECT_GT(models[0]["context_length"], 0);
  EXPECT_EQ(models[0]["quantization"], "f32");

  const Json& tokens = results[1]["ok"];
  EXPECT_EQ(tokens["token_ids"], golden_case.prompt_ids);
  std::string pieces;
  for (const Json& piece : tokens["pieces"]) pieces += piece.get<std::string>();
  EXPECT_EQ(tokens["pieces"].size(), golden_case.prompt_ids.size());
  EXPECT_NE(pieces.find("upon"), std::string::npos) << tokens.dump();
  EXPECT_FALSE(results[2]["ok"]["token_ids"].empty());
}

TEST_F(RouterGrpcClientTest, MissingOrWrongKeyIsUnauthenticated) {
  const Json calls = Json::array({GreedyGenerate({{"text", "Once"}}, 2), {{"rpc", "ListModels"}}});
  for (const std::string key : {"", "wrong-key"}) {
    ASSERT_OK_AND_ASSIGN(Json results, GrpcWithKey(key, calls));
    for (const Json& result : results) {
      ASSERT_TRUE(result.contains("error")) << "key '" << key << "': " << result.dump();
      EXPECT_EQ(result["error"]["code"], "UNAUTHENTICATED") << result.dump();
    }
  }
}

TEST_F(RouterGrpcClientTest, BadRequestsGetTheDocumentedCodes) {
  Json bad_temperature = GreedyGenerate({{"text", "Once"}}, 4);
  bad_temperature["request"]["sampling"]["temperature"] = -1;
  Json unknown_model = GreedyGenerate({{"text", "Once"}}, 4);
  unknown_model["request"]["model"] = "no-such-model";
  Json empty_prompt = GreedyGenerate({{"text", ""}}, 4);
  ASSERT_OK_AND_ASSIGN(Json results,
                       Grpc(Json::array({bad_temperature, unknown_model, empty_prompt})));
  const char* expected[] = {"INVALID_ARGUMENT", "NOT_FOUND", "INVALID_ARGUMENT"};
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].contains("error")) << results[i].dump();
    EXPECT_EQ(results[i]["error"]["code"], expected[i]) << results[i].dump();
  }
}

TEST_F(RouterGrpcClientTest, ReflectionListsTheServicesAndServesACall) {
  ASSERT_OK_AND_ASSIGN(
      Json results,
      Reflection(Json::array(
          {{{"api", "services"}},
           {{"api", "methods"}, {"service", "baton.v1.Inference"}},
           {{"api", "unary"}, {"service", "baton.v1.Inference"}, {"method", "ListModels"}}})));
  for (const Json& result : results) ASSERT_TRUE(CallOk(result));
  const Json& services = results[0]["ok"];
  for (const char* service : {"baton.v1.Inference", "grpc.health.v1.Health",
                              "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_NE(std::find(services.begin(), services.end(), service), services.end())
        << service << " missing from " << services.dump();
  }
  EXPECT_EQ(results[1]["ok"], Json::array({"Generate", "ListModels", "Tokenize"}));
  const Json& models = results[2]["ok"]["models"];
  ASSERT_EQ(models.size(), 1u) << results[2].dump();
  EXPECT_EQ(models[0]["id"], kStoriesModel);
}

}  // namespace
}  // namespace baton::testing
