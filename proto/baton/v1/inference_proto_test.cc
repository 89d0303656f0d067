// Round trips of every public message, and the presence semantics clients rely on.
#include "gtest/gtest.h"
#include "proto/baton/v1/inference.pb.h"
#include "proto/testing/proto_round_trip.h"

namespace baton::v1 {
namespace {

TEST(InferenceProtoTest, EveryMessageRoundTrips) {
  const int count = proto_testing::ExpectEveryMessageRoundTrips(GenerateRequest::descriptor()->file());
  EXPECT_EQ(count, 15);  // every message declared in inference.proto
}

TEST(InferenceProtoTest, GenerateRequestPromptIsOneOf) {
  GenerateRequest request;
  request.set_text("Once upon a time");
  EXPECT_EQ(request.prompt_case(), GenerateRequest::kText);
  request.mutable_token_ids()->add_ids(1);
  EXPECT_EQ(request.prompt_case(), GenerateRequest::kTokenIds);
  EXPECT_FALSE(request.has_chat());
  EXPECT_TRUE(request.text().empty());
}

TEST(InferenceProtoTest, OptionalSamplingFieldsKeepPresence) {
  SamplingParams params;
  EXPECT_FALSE(params.has_temperature());
  params.set_temperature(0.0f);  // greedy, distinct from "unset" (default 1.0)
  SamplingParams parsed;
  ASSERT_TRUE(parsed.ParseFromString(params.SerializeAsString()));
  EXPECT_TRUE(parsed.has_temperature());
  EXPECT_EQ(parsed.temperature(), 0.0f);
  EXPECT_FALSE(parsed.has_seed());
}

TEST(InferenceProtoTest, ServiceHasThePublicMethods) {
  const auto* service = GenerateRequest::descriptor()->file()->FindServiceByName("Inference");
  ASSERT_NE(service, nullptr);
  const auto* generate = service->FindMethodByName("Generate");
  ASSERT_NE(generate, nullptr);
  EXPECT_TRUE(generate->server_streaming());
  EXPECT_NE(service->FindMethodByName("ListModels"), nullptr);
  EXPECT_NE(service->FindMethodByName("Tokenize"), nullptr);
}

}  // namespace
}  // namespace baton::v1
