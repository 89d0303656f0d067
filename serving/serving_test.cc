#include <thread>
#include <vector>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/call_wait.h"
#include "serving/event_queue.h"
#include "serving/first_token.h"
#include "serving/flags.h"
#include "serving/kv_target_proto.h"
#include "serving/prompt.h"
#include "serving/sampling.h"
#include "serving/transport.h"

namespace baton::serving {
namespace {

using ::baton::testing::StatusIs;

TEST(SamplingTest, AppliesDocumentedDefaults) {
  baton::v1::SamplingParams proto;
  proto.set_seed(7);
  ASSERT_OK_AND_ASSIGN(RequestSampling s, SamplingFromProto(proto));
  EXPECT_EQ(s.params.temperature, 1.0f);
  EXPECT_EQ(s.params.top_p, 1.0f);
  EXPECT_EQ(s.params.repetition_penalty, 1.0f);
  EXPECT_EQ(s.params.seed, 7u);
  EXPECT_EQ(s.max_tokens, kDefaultMaxTokens);
  EXPECT_FALSE(s.logprobs);
}

TEST(SamplingTest, KeepsExplicitValues) {
  baton::v1::SamplingParams proto;
  proto.set_temperature(0.0f);
  proto.set_top_k(5);
  proto.set_max_tokens(3);
  proto.set_top_logprobs(2);
  proto.set_ignore_eos(true);
  ASSERT_OK_AND_ASSIGN(RequestSampling s, SamplingFromProto(proto));
  EXPECT_EQ(s.params.temperature, 0.0f);
  EXPECT_EQ(s.params.top_k, 5);
  EXPECT_EQ(s.max_tokens, 3);
  EXPECT_TRUE(s.logprobs);
  EXPECT_EQ(s.params.top_logprobs, 2);
  EXPECT_TRUE(s.ignore_eos);
}

TEST(SamplingTest, UnsetSeedIsZeroSoBothWorkersAgree) {
  baton::v1::SamplingParams proto;
  proto.set_temperature(0.8f);
  ASSERT_OK_AND_ASSIGN(RequestSampling prefill, SamplingFromProto(proto));
  ASSERT_OK_AND_ASSIGN(RequestSampling decode, SamplingFromProto(proto));
  EXPECT_EQ(prefill.params.seed, 0u);
  EXPECT_EQ(decode.params.seed, 0u);
}

TEST(SamplingTest, RejectsOutOfRangeValues) {
  baton::v1::SamplingParams proto;
  proto.set_max_tokens(-1);
  EXPECT_THAT(SamplingFromProto(proto).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  proto.set_max_tokens(1);
  proto.set_top_logprobs(21);
  EXPECT_THAT(SamplingFromProto(proto).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  proto.set_top_logprobs(0);
  proto.set_temperature(-1.0f);
  EXPECT_THAT(SamplingFromProto(proto).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SamplingTest, LogprobsConversion) {
  engine::SampleResult r;
  r.token = 4;
  r.logprob = -0.5f;
  r.top = {{4, -0.5f}, {9, -1.5f}};
  baton::v1::PositionLogprobs p = ToPositionLogprobs(r);
  EXPECT_EQ(p.chosen().token_id(), 4);
  EXPECT_FLOAT_EQ(p.chosen().logprob(), -0.5f);
  ASSERT_EQ(p.top_size(), 2);
  EXPECT_EQ(p.top(1).token_id(), 9);
}

// A sample of token 4 with two alternatives, as P's sampler returns it.
engine::SampleResult FirstSample() {
  engine::SampleResult r;
  r.token = 4;
  r.logprob = -0.5f;
  r.top = {{4, -0.5f}, {9, -1.5f}};
  return r;
}

TEST(FirstTokenTest, LogprobsTravelWithTheTokenWhenRequested) {
  RequestSampling sampling;
  sampling.logprobs = true;
  const kvtransfer::Completion completion = FirstTokenCompletion(sampling, FirstSample());
  EXPECT_EQ(completion.first_token, 4);
  EXPECT_LE(completion.payload.size(), kvtransfer::kMaxCompletionPayloadBytes);
  ASSERT_OK_AND_ASSIGN(FirstToken first, FirstTokenFromCompletion(completion, sampling, 10));
  EXPECT_EQ(first.token, 4);
  ASSERT_TRUE(first.logprobs.has_value());
  EXPECT_EQ(first.logprobs->chosen().token_id(), 4);
  EXPECT_FLOAT_EQ(first.logprobs->chosen().logprob(), -0.5f);
  ASSERT_EQ(first.logprobs->top_size(), 2);
  EXPECT_EQ(first.logprobs->top(1).token_id(), 9);
}

TEST(FirstTokenTest, NoPayloadWithoutLogprobs) {
  const RequestSampling sampling;
  const kvtransfer::Completion completion = FirstTokenCompletion(sampling, FirstSample());
  EXPECT_EQ(completion.first_token, 4);
  EXPECT_TRUE(completion.payload.empty());
  ASSERT_OK_AND_ASSIGN(FirstToken first, FirstTokenFromCompletion(completion, sampling, 10));
  EXPECT_EQ(first.token, 4);
  EXPECT_FALSE(first.logprobs.has_value());
}

TEST(FirstTokenTest, BadCompletionsAreDataLoss) {
  RequestSampling sampling;
  sampling.logprobs = true;
  const kvtransfer::Completion good = FirstTokenCompletion(sampling, FirstSample());
  // Outside the vocabulary.
  EXPECT_THAT(FirstTokenFromCompletion(good, sampling, 4).status(),
              StatusIs(absl::StatusCode::kDataLoss));
  // Logprobs requested but not sent (a sender that dropped them), or sent for another token.
  EXPECT_THAT(FirstTokenFromCompletion({.first_token = 4}, sampling, 10).status(),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(FirstTokenFromCompletion({.first_token = 5, .payload = good.payload}, sampling, 10)
                  .status(),
              StatusIs(absl::StatusCode::kDataLoss));
  // A payload that is not a KvCompletionPayload.
  EXPECT_THAT(FirstTokenFromCompletion({.first_token = 4, .payload = "\xff\xff"}, sampling, 10)
                  .status(),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(PromptTest, Validates) {
  engine::ModelConfig config;
  config.vocab_size = 10;
  config.context_length = 4;
  const std::vector<int32_t> ok = {1, 2, 3};
  const std::vector<int32_t> empty;
  const std::vector<int32_t> too_long = {1, 2, 3, 4};
  const std::vector<int32_t> bad_id = {1, 10};
  const std::vector<int32_t> negative = {-1};
  EXPECT_OK(ValidatePrompt(ok, config));
  EXPECT_THAT(ValidatePrompt(empty, config), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidatePrompt(too_long, config), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidatePrompt(bad_id, config), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidatePrompt(negative, config), StatusIs(absl::StatusCode::kInvalidArgument));
}

WireKvTarget SampleTarget() {
  WireKvTarget wire;
  wire.target.transport = "ucx";
  wire.target.worker_address = std::string("\x01\x00\x02", 3);
  wire.target.base_address = 0x7f0000001000;
  wire.target.pool_num_blocks = 64;
  wire.target.block_ids = {5, 9, 2};
  wire.target.layout = {.num_layers = 5,
                        .num_kv_heads = 4,
                        .head_dim = 8,
                        .block_size_tokens = 16,
                        .dtype = engine::KvDType::kF16};
  wire.target.transfer_id = 0xfeedbeef12345ull;
  wire.lease_deadline = absl::FromUnixMicros(1700000000123456);
  wire.num_tokens = 40;
  wire.cached_prefix_blocks = 2;
  return wire;
}

TEST(KvTargetProtoTest, RoundTrips) {
  const WireKvTarget wire = SampleTarget();
  ASSERT_OK_AND_ASSIGN(WireKvTarget back, WireKvTargetFromProto(WireKvTargetToProto(wire)));
  EXPECT_EQ(back.target.transport, wire.target.transport);
  EXPECT_EQ(back.target.worker_address, wire.target.worker_address);
  EXPECT_EQ(back.target.base_address, wire.target.base_address);
  EXPECT_EQ(back.target.pool_num_blocks, 64);
  EXPECT_EQ(back.target.block_ids, wire.target.block_ids);
  EXPECT_EQ(back.target.layout, wire.target.layout);
  EXPECT_EQ(back.target.transfer_id, wire.target.transfer_id);
  EXPECT_EQ(back.lease_deadline, wire.lease_deadline);
  EXPECT_EQ(back.num_tokens, 40);
  EXPECT_EQ(back.cached_prefix_blocks, 2);
  // The sender writes only the blocks after the decode worker's cached prefix.
  EXPECT_EQ(BlocksToWrite(back).block_ids, std::vector<int32_t>{2});
  // All cached: nothing to write, the completion alone travels.
  WireKvTarget all = SampleTarget();
  all.cached_prefix_blocks = 3;
  ASSERT_OK_AND_ASSIGN(WireKvTarget all_back, WireKvTargetFromProto(WireKvTargetToProto(all)));
  EXPECT_TRUE(BlocksToWrite(all_back).block_ids.empty());
}

TEST(KvTargetProtoTest, RejectsMalformedTargets) {
  baton::internal::v1::KvTarget proto = WireKvTargetToProto(SampleTarget());
  proto.set_transfer_id("12x");
  EXPECT_THAT(WireKvTargetFromProto(proto).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  proto = WireKvTargetToProto(SampleTarget());
  proto.set_num_tokens(49);  // needs 4 blocks, target has 3
  EXPECT_THAT(WireKvTargetFromProto(proto).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  proto = WireKvTargetToProto(SampleTarget());
  proto.add_block_ids(64);  // outside the pool
  proto.set_num_tokens(60);
  EXPECT_THAT(WireKvTargetFromProto(proto).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  proto = WireKvTargetToProto(SampleTarget());
  proto.mutable_layout()->set_dtype(static_cast<baton::internal::v1::KvDType>(7));
  EXPECT_THAT(WireKvTargetFromProto(proto).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  // A cached prefix covers at most every block.
  for (int32_t cached : {-1, 4}) {
    proto = WireKvTargetToProto(SampleTarget());
    proto.set_cached_prefix_blocks(cached);
    EXPECT_THAT(WireKvTargetFromProto(proto).status(),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << cached;
  }
}

TEST(FlagsTest, ParsesDTypeAndUcxSettings) {
  EXPECT_EQ(*ParseKvDType("f16"), engine::KvDType::kF16);
  EXPECT_THAT(ParseKvDType("q8").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto ucx, ParseUcxConfig("TLS=tcp,NET_DEVICES=lo"));
  ASSERT_EQ(ucx.size(), 2u);
  EXPECT_EQ(ucx[1].first, "NET_DEVICES");
  EXPECT_EQ(ucx[1].second, "lo");
  EXPECT_THAT(ParseUcxConfig("TLS").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(ReadyLine(1, 2), "READY grpc_port=1 http_port=2");
  std::optional<ReadyPorts> ports = ParseReadyLine(ReadyLine(8001, 8000));
  ASSERT_TRUE(ports.has_value());
  EXPECT_EQ(ports->grpc_port, 8001);
  EXPECT_EQ(ports->http_port, 8000);
  EXPECT_FALSE(ParseReadyLine("listening grpc_port=1").has_value());
}

TEST(TransportTest, UnknownKindIsInvalidArgument) {
  EXPECT_THAT(CreateTransport({.kind = "carrier-pigeon"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("registered: inprocess, nccl, ucx")));
  EXPECT_OK(CreateTransport({.kind = "inprocess"}).status());
}

TEST(TransportTest, NegativeProgressSpinIsInvalidArgument) {
  EXPECT_THAT(CreateTransport({.kind = "ucx", .progress_spin = absl::Microseconds(-1)}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(CreateTransport({.kind = "ucx",
                             .ucx_config = {{"TLS", "tcp"}, {"NET_DEVICES", "lo"}},
                             .progress_spin = absl::Milliseconds(5)})
                .status());
}

TEST(CallLimiterTest, AdmitsUpToTheLimitAndReleases) {
  CallLimiter limiter(2);
  {
    CallLimiter::Slot a(limiter);
    CallLimiter::Slot b(limiter);
    CallLimiter::Slot c(limiter);
    EXPECT_TRUE(a.admitted());
    EXPECT_TRUE(b.admitted());
    EXPECT_FALSE(c.admitted());
  }
  CallLimiter::Slot d(limiter);
  EXPECT_TRUE(d.admitted());
}

TEST(EventQueueTest, PopWaitsForPush) {
  EventQueue<int> queue;
  EXPECT_FALSE(queue.PopWithTimeout(absl::Milliseconds(1)).has_value());
  std::thread producer([&] { queue.Push(3); });
  std::optional<int> v = queue.PopWithTimeout(absl::Seconds(10));
  producer.join();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, 3);
}

}  // namespace
}  // namespace baton::serving
