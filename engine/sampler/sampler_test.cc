#include "engine/sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "common/status_matchers.h"
#include "gtest/gtest.h"

namespace baton::engine {
namespace {

using ::baton::testing::StatusIs;

SamplingParams Greedy() {
  SamplingParams p;
  p.temperature = 0.0f;
  return p;
}

// Samples positions 0..n-1 of a sequence from the same logits. The draw is keyed by the position
// (the history's length); the history holds out-of-vocabulary ids, which the penalties ignore.
std::vector<int32_t> Draw(const SamplingParams& p, const std::vector<float>& logits, int n) {
  auto sampler = Sampler::Create(p);
  EXPECT_TRUE(sampler.ok());
  std::vector<int32_t> out;
  std::vector<int32_t> history;
  for (int i = 0; i < n; ++i) {
    out.push_back((*sampler)->Sample(logits, history).token);
    history.push_back(-1);
  }
  return out;
}

TEST(SamplerTest, ValidateRejectsOutOfRange) {
  EXPECT_OK(Validate(SamplingParams{}));
  auto expect_bad = [](auto mutate) {
    SamplingParams p;
    mutate(p);
    EXPECT_THAT(Validate(p), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(Sampler::Create(p).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  };
  expect_bad([](SamplingParams& p) { p.temperature = -0.1f; });
  expect_bad([](SamplingParams& p) { p.temperature = NAN; });
  expect_bad([](SamplingParams& p) { p.top_p = 0.0f; });
  expect_bad([](SamplingParams& p) { p.top_p = 1.5f; });
  expect_bad([](SamplingParams& p) { p.top_k = -1; });
  expect_bad([](SamplingParams& p) { p.min_p = 1.1f; });
  expect_bad([](SamplingParams& p) { p.repetition_penalty = 0.0f; });
  expect_bad([](SamplingParams& p) { p.frequency_penalty = 3.0f; });
  expect_bad([](SamplingParams& p) { p.presence_penalty = -2.5f; });
  expect_bad([](SamplingParams& p) { p.top_logprobs = 21; });
  expect_bad([](SamplingParams& p) { p.penalty_last_n = -2; });
}

TEST(SamplerTest, GreedyPicksArgmax) {
  EXPECT_EQ(Draw(Greedy(), {0.1f, 3.0f, -1.0f, 2.9f}, 3), (std::vector<int32_t>{1, 1, 1}));
}

TEST(SamplerTest, SameSeedSameTokensDifferentSeedDiffers) {
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[i] = 0.05f * i;
  SamplingParams p;
  p.seed = 42;
  auto a = Draw(p, logits, 64);
  EXPECT_EQ(a, Draw(p, logits, 64));
  p.seed = 43;
  EXPECT_NE(a, Draw(p, logits, 64));
}

TEST(SamplerTest, DrawDependsOnlyOnSeedAndPosition) {
  std::vector<float> logits(1000, 0.0f);  // uniform: the token is the draw
  SamplingParams p;
  p.seed = 7;
  const std::vector<int32_t> sequential = Draw(p, logits, 32);
  // Another sampler, asked for position k only and with other tokens before it (the decode
  // worker after the prefill worker sampled the first token, a migrated sequence), agrees.
  ASSERT_OK_AND_ASSIGN(auto fresh, Sampler::Create(p));
  for (int k : {0, 1, 5, 31}) {
    const std::vector<int32_t> history(k, 3);
    EXPECT_EQ(fresh->Sample(logits, history).token, sequential[k]) << "position " << k;
  }
  // Positions draw differently: not one token repeated.
  EXPECT_GT(std::set<int32_t>(sequential.begin(), sequential.end()).size(), 16u);
}

TEST(SamplerTest, TopKRestrictsToBestK) {
  std::vector<float> logits = {1.0f, 5.0f, 4.9f, 0.0f, 4.8f};
  SamplingParams p;
  p.top_k = 2;
  p.temperature = 5.0f;
  for (int32_t t : Draw(p, logits, 200)) EXPECT_TRUE(t == 1 || t == 2) << t;
}

TEST(SamplerTest, TopPKeepsNucleus) {
  // Probabilities ~ 0.6, 0.3, 0.1 (log-space logits).
  std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  SamplingParams p;
  p.top_p = 0.8f;
  std::map<int32_t, int> seen;
  for (int32_t t : Draw(p, logits, 400)) ++seen[t];
  EXPECT_EQ(seen.count(2), 0u);
  EXPECT_GT(seen[0], seen[1]);
  EXPECT_GT(seen[1], 50);
}

TEST(SamplerTest, TopPNucleusLargerThanFirstSortedChunk) {
  std::vector<float> logits(1000, 0.0f);  // uniform: the nucleus of 0.5 is 500 tokens
  SamplingParams p;
  p.top_p = 0.5f;
  int max_token = 0;
  for (int32_t t : Draw(p, logits, 400)) {
    EXPECT_LT(t, 500);  // ties break towards lower ids
    max_token = std::max(max_token, t);
  }
  EXPECT_GT(max_token, 300);
}

TEST(SamplerTest, MinPDropsUnlikely) {
  std::vector<float> logits = {std::log(0.5f), std::log(0.4f), std::log(0.1f)};
  SamplingParams p;
  p.min_p = 0.5f;  // threshold 0.25
  for (int32_t t : Draw(p, logits, 300)) EXPECT_NE(t, 2);
}

TEST(SamplerTest, TemperatureSharpens) {
  std::vector<float> logits = {1.0f, 0.0f};
  SamplingParams p;
  p.temperature = 0.05f;  // p(1) = exp(-20)
  for (int32_t t : Draw(p, logits, 200)) EXPECT_EQ(t, 0);
  p.temperature = 1.0f;  // p(1) ~ 0.27
  int ones = 0;
  for (int32_t t : Draw(p, logits, 1000)) ones += t;
  EXPECT_GT(ones, 180);
  EXPECT_LT(ones, 360);
}

TEST(SamplerTest, PenaltiesChangeGreedyChoice) {
  std::vector<float> logits = {2.0f, 1.8f, 0.5f};
  std::vector<int32_t> history = {0, 0, 0};
  SamplingParams p = Greedy();
  ASSERT_OK_AND_ASSIGN(auto plain, Sampler::Create(p));
  EXPECT_EQ(plain->Sample(logits, history).token, 0);
  p.repetition_penalty = 1.2f;  // 2.0 / 1.2 = 1.67 < 1.8
  ASSERT_OK_AND_ASSIGN(auto rep, Sampler::Create(p));
  EXPECT_EQ(rep->Sample(logits, history).token, 1);
  p = Greedy();
  p.frequency_penalty = 0.1f;  // 2.0 - 0.3 = 1.7 < 1.8
  ASSERT_OK_AND_ASSIGN(auto freq, Sampler::Create(p));
  EXPECT_EQ(freq->Sample(logits, history).token, 1);
  p.frequency_penalty = 0.05f;  // 1.85 > 1.8
  ASSERT_OK_AND_ASSIGN(auto freq_small, Sampler::Create(p));
  EXPECT_EQ(freq_small->Sample(logits, history).token, 0);
  p = Greedy();
  p.presence_penalty = 0.3f;  // once, not per count: 1.7
  ASSERT_OK_AND_ASSIGN(auto pres, Sampler::Create(p));
  EXPECT_EQ(pres->Sample(logits, history).token, 1);
  p.penalty_last_n = 0;  // looks at nothing
  ASSERT_OK_AND_ASSIGN(auto none, Sampler::Create(p));
  EXPECT_EQ(none->Sample(logits, history).token, 0);
}

TEST(SamplerTest, LogprobsOfChosenAndTop) {
  std::vector<float> logits = {std::log(0.2f), std::log(0.5f), std::log(0.3f)};
  SamplingParams p = Greedy();
  p.top_logprobs = 2;
  ASSERT_OK_AND_ASSIGN(auto s, Sampler::Create(p));
  SampleResult r = s->Sample(logits, {});
  EXPECT_EQ(r.token, 1);
  EXPECT_NEAR(r.logprob, std::log(0.5f), 1e-5);
  ASSERT_EQ(r.top.size(), 2u);
  EXPECT_EQ(r.top[0].token, 1);
  EXPECT_EQ(r.top[1].token, 2);
  EXPECT_NEAR(r.top[1].logprob, std::log(0.3f), 1e-5);
}

}  // namespace
}  // namespace baton::engine
