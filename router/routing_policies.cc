#include <atomic>
#include <cmath>
#include <functional>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "router/routing_policy.h"

namespace baton::router {
namespace {

namespace v1 = ::baton::internal::v1;

// A decode worker's load in sequences, plus the share of its KV pool in use (one whole sequence's
// weight when full), so that among equally busy workers the one with more free blocks wins.
double DecodeLoad(const WorkerView& w) {
  const int32_t total = w.load.total_kv_blocks();
  const double used_share =
      total > 0 ? 1.0 - static_cast<double>(w.load.free_kv_blocks()) / total : 0.0;
  return w.load.running_sequences() + w.load.waiting_sequences() + w.in_flight + used_share;
}

// A prefill worker's load in prompt tokens: its queue as reported plus what this router sent it
// since (both may count the same prompt for a moment; the bias is the same for every worker).
double PrefillLoad(const WorkerView& w) {
  return static_cast<double>(w.load.queued_prompt_tokens() + w.in_flight_prompt_tokens);
}

double Load(v1::WorkerRole role, const WorkerView& w) {
  return role == v1::WORKER_ROLE_PREFILL ? PrefillLoad(w) : DecodeLoad(w);
}

double PrefixAwareCost(double overlap_weight, v1::WorkerRole role, const WorkerView& w) {
  if (role == v1::WORKER_ROLE_PREFILL) {
    const int64_t uncached = std::max<int64_t>(0, w.prompt_tokens - w.cached_prefix_tokens());
    return PrefillLoad(w) + static_cast<double>(uncached);
  }
  const double held_share =
      w.prompt_blocks > 0 ? static_cast<double>(w.cached_prefix_blocks) / w.prompt_blocks : 0.0;
  return DecodeLoad(w) - overlap_weight * held_share;
}

// The first candidate of lowest cost, ties going to the one after the previous pick so that
// equal workers share the work.
class LowestCost : public RoutingPolicy {
 public:
  using Cost = std::function<double(v1::WorkerRole, const WorkerView&)>;
  explicit LowestCost(Cost cost) : cost_(std::move(cost)) {}
  size_t Pick(v1::WorkerRole role, absl::Span<const WorkerView> candidates) override {
    const size_t start = next_[role % 3].fetch_add(1) % candidates.size();
    size_t best = start;
    double best_cost = cost_(role, candidates[start]);
    for (size_t i = 1; i < candidates.size(); ++i) {
      const size_t k = (start + i) % candidates.size();
      const double cost = cost_(role, candidates[k]);
      if (cost < best_cost) {
        best = k;
        best_cost = cost;
      }
    }
    return best;
  }

 private:
  const Cost cost_;
  std::atomic<size_t> next_[3] = {0, 0, 0};
};

class RoundRobin : public RoutingPolicy {
 public:
  size_t Pick(v1::WorkerRole role, absl::Span<const WorkerView> candidates) override {
    return next_[role % 3].fetch_add(1) % candidates.size();
  }

 private:
  std::atomic<size_t> next_[3] = {0, 0, 0};
};

class TwoChoices : public RoutingPolicy {
 public:
  explicit TwoChoices(uint64_t seed) : random_(seed) {}
  size_t Pick(v1::WorkerRole role, absl::Span<const WorkerView> candidates) override {
    if (candidates.size() == 1) return 0;
    size_t a, b;
    {
      absl::MutexLock lock(&mu_);
      a = std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(random_);
      b = std::uniform_int_distribution<size_t>(0, candidates.size() - 2)(random_);
    }
    if (b >= a) ++b;  // two distinct candidates
    return Load(role, candidates[b]) < Load(role, candidates[a]) ? b : a;
  }

 private:
  absl::Mutex mu_;
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
};

struct Entry {
  const char* name;
  std::function<std::unique_ptr<RoutingPolicy>(const RoutingPolicyOptions&)> make;
};

const std::vector<Entry>& Registry() {
  static const auto* registry = new std::vector<Entry>{
      {"round_robin", [](const RoutingPolicyOptions&) { return std::make_unique<RoundRobin>(); }},
      {"least_loaded",
       [](const RoutingPolicyOptions&) { return std::make_unique<LowestCost>(Load); }},
      {"two_choices",
       [](const RoutingPolicyOptions& o) { return std::make_unique<TwoChoices>(o.seed); }},
      {"prefix_aware",
       [](const RoutingPolicyOptions& o) {
         return std::make_unique<LowestCost>(
             [weight = o.prefix_overlap_weight](v1::WorkerRole role, const WorkerView& w) {
               return PrefixAwareCost(weight, role, w);
             });
       }},
  };
  return *registry;
}

}  // namespace

std::vector<std::string> RoutingPolicyNames() {
  std::vector<std::string> names;
  for (const Entry& entry : Registry()) names.emplace_back(entry.name);
  return names;
}

absl::StatusOr<std::unique_ptr<RoutingPolicy>> MakeRoutingPolicy(
    absl::string_view name, const RoutingPolicyOptions& options) {
  if (!(options.prefix_overlap_weight >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("prefix overlap weight ",
                                                   options.prefix_overlap_weight,
                                                   " is negative"));
  }
  for (const Entry& entry : Registry()) {
    if (name == entry.name) return entry.make(options);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown routing policy '", name, "'; known: ",
                                                 absl::StrJoin(RoutingPolicyNames(), ", ")));
}

}  // namespace baton::router
