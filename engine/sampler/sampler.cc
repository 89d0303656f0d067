#include "engine/sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <unordered_map>

namespace baton::engine {
namespace {

// One candidate token while the truncation filters run.
struct Candidate {
  int32_t token;
  float logit;
  float prob;
};

void ApplyPenalties(const SamplingParams& p, std::span<const int32_t> history,
                    std::vector<float>& logits) {
  if (p.repetition_penalty == 1.0f && p.frequency_penalty == 0.0f &&
      p.presence_penalty == 0.0f) {
    return;
  }
  size_t first = 0;
  if (p.penalty_last_n >= 0 && history.size() > static_cast<size_t>(p.penalty_last_n)) {
    first = history.size() - p.penalty_last_n;
  }
  std::unordered_map<int32_t, int32_t> counts;
  for (size_t i = first; i < history.size(); ++i) {
    if (history[i] >= 0 && static_cast<size_t>(history[i]) < logits.size()) ++counts[history[i]];
  }
  for (const auto& [token, count] : counts) {
    float& l = logits[token];
    l = l > 0 ? l / p.repetition_penalty : l * p.repetition_penalty;
    l -= p.frequency_penalty * count + p.presence_penalty;
  }
}

int32_t Argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

absl::Status Validate(const SamplingParams& p) {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature)) {
    return bad("temperature must be >= 0");
  }
  if (p.top_k < 0) return bad("top_k must be >= 0");
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) return bad("top_p must be in (0, 1]");
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) return bad("min_p must be in [0, 1]");
  if (!(p.repetition_penalty > 0.0f) || !std::isfinite(p.repetition_penalty)) {
    return bad("repetition_penalty must be > 0");
  }
  if (!(p.frequency_penalty >= -2.0f && p.frequency_penalty <= 2.0f)) {
    return bad("frequency_penalty must be in [-2, 2]");
  }
  if (!(p.presence_penalty >= -2.0f && p.presence_penalty <= 2.0f)) {
    return bad("presence_penalty must be in [-2, 2]");
  }
  if (p.penalty_last_n < -1) return bad("penalty_last_n must be >= -1");
  if (p.top_logprobs < 0 || p.top_logprobs > 20) return bad("top_logprobs must be in [0, 20]");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Sampler>> Sampler::Create(const SamplingParams& params) {
  if (absl::Status s = Validate(params); !s.ok()) return s;
  return std::unique_ptr<Sampler>(new Sampler(params));
}

Sampler::Sampler(const SamplingParams& params) : params_(params) {}

double Sampler::UniformAt(uint64_t position) const {
  // SplitMix64 (Steele, Lea, Flood 2014): its n-th output is the finalizer applied to
  // seed + (n + 1) * golden gamma, so output `position` needs no earlier ones.
  uint64_t z = params_.seed + (position + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

int32_t Sampler::SampleTruncated(const std::vector<float>& logits, double uniform) const {
  // Avoids sorting the whole vocabulary (128k entries on Llama 3): top-k by selection, top-p by
  // sorting a growing prefix only until it holds the nucleus, min-p by a threshold.
  const int64_t n = static_cast<int64_t>(logits.size());
  auto better = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.token < b.token);
  };
  std::vector<Candidate> cands(n);
  for (int64_t i = 0; i < n; ++i) cands[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  if (params_.top_k > 0 && params_.top_k < n) {
    std::nth_element(cands.begin(), cands.begin() + params_.top_k, cands.end(), better);
    cands.resize(params_.top_k);
  }
  // Softmax at temperature over the survivors, relative to the best (whose weight is 1).
  float max_logit = cands[0].logit;
  for (const Candidate& c : cands) max_logit = std::max(max_logit, c.logit);
  double sum = 0;
  for (Candidate& c : cands) {
    c.prob = std::exp((c.logit - max_logit) / params_.temperature);
    sum += c.prob;
  }
  if (params_.top_p < 1.0f) {
    const double target = params_.top_p * sum;
    size_t sorted = std::min<size_t>(64, cands.size());
    for (;;) {
      std::partial_sort(cands.begin(), cands.begin() + sorted, cands.end(), better);
      double cum = 0;
      size_t keep = 0;
      while (keep < sorted && cum < target) cum += cands[keep++].prob;
      if (cum >= target || sorted == cands.size()) {
        cands.resize(keep);
        break;
      }
      sorted = std::min(sorted * 4, cands.size());
    }
  }
  if (params_.min_p > 0.0f) {
    // The best token has weight 1, so the threshold is min_p itself.
    cands.erase(std::remove_if(cands.begin(), cands.end(),
                               [&](const Candidate& c) { return c.prob < params_.min_p; }),
                cands.end());
  }
  double total = 0;
  for (const Candidate& c : cands) total += c.prob;
  double r = uniform * total;
  for (const Candidate& c : cands) {
    r -= c.prob;
    if (r < 0) return c.token;
  }
  return cands.back().token;
}

SampleResult Sampler::Sample(std::span<const float> raw,
                             std::span<const int32_t> history) const {
  const int32_t n = static_cast<int32_t>(raw.size());
  std::vector<float> logits(raw.begin(), raw.end());
  ApplyPenalties(params_, history, logits);

  int32_t chosen;
  if (params_.temperature == 0.0f || params_.top_k == 1) {
    chosen = Argmax(logits);
  } else {
    chosen = SampleTruncated(logits, UniformAt(history.size()));
  }

  // Logprobs come from the raw distribution: log_softmax(raw).
  const float max_raw = *std::max_element(raw.begin(), raw.end());
  double z = 0;
  for (float l : raw) z += std::exp(static_cast<double>(l) - max_raw);
  const float log_z = static_cast<float>(std::log(z)) + max_raw;
  SampleResult result;
  result.token = chosen;
  result.logprob = raw[chosen] - log_z;
  if (params_.top_logprobs > 0) {
    const int32_t k = std::min(params_.top_logprobs, n);
    std::vector<int32_t> ids(n);
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
      return raw[a] > raw[b] || (raw[a] == raw[b] && a < b);
    });
    for (int32_t i = 0; i < k; ++i) result.top.push_back({ids[i], raw[ids[i]] - log_z});
  }
  return result;
}

}  // namespace baton::engine
