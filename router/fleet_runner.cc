#include "router/fleet_runner.h"

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "router/handoff.h"

namespace baton::router {

namespace v1 = ::baton::internal::v1;

namespace {

// A decode failure another decode worker may not have: the worker refused (no blocks, draining)
// or went away. kInternal here is the transport's (a reset stream), not a protocol error.
bool RetryableDecodeFailure(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsResourceExhausted(status) ||
         absl::IsAborted(status) || absl::IsInternal(status) || absl::IsUnknown(status);
}

// The request as a new leg sees it after `generated` tokens: they join the prompt and count
// against max_tokens.
v1::DecodeRequest LegRequest(const v1::DecodeRequest& base, const std::vector<int32_t>& generated) {
  v1::DecodeRequest leg = base;
  leg.mutable_prompt_token_ids()->Add(generated.begin(), generated.end());
  if (base.sampling().max_tokens() > 0) {
    leg.mutable_sampling()->set_max_tokens(base.sampling().max_tokens() -
                                           static_cast<int32_t>(generated.size()));
  }
  return leg;
}

}  // namespace

size_t FleetRunner::Pick(v1::WorkerRole role, absl::Span<const WorkerView> candidates) const {
  // A lone candidate is no choice: asking the policy would move its turn (round robin) for
  // nothing.
  return candidates.size() == 1 ? 0 : policy_->Pick(role, candidates);
}

FleetRunner::FleetRunner(const WorkerPool* pool, RoutingPolicy* policy, FleetMetrics* metrics,
                         FleetOptions options)
    : pool_(pool), policy_(policy), metrics_(metrics), options_(options) {}

absl::StatusOr<DisaggResult> FleetRunner::Generate(const DisaggRequest& request,
                                                   const TokenCallback& on_tokens) {
  if (!pool_->Configured(v1::WORKER_ROLE_DECODE)) {
    return absl::FailedPreconditionError("the router has no decode worker");
  }
  const v1::DecodeRequest base = MakeDecodeRequest(request);
  const absl::Time deadline = request.timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + request.timeout;
  const bool colocated = request.local_prefill || !pool_->Configured(v1::WORKER_ROLE_PREFILL);
  bool prefill_failed = false;
  DisaggResult result;
  absl::flat_hash_set<std::string> failed_decode;
  int32_t migrations = 0;
  int32_t decode_attempts = 0;
  absl::Status last_failure;
  std::string previous_decode;
  while (true) {
    const v1::DecodeRequest leg_base = LegRequest(base, result.tokens);
    if (base.sampling().max_tokens() > 0 && leg_base.sampling().max_tokens() <= 0) {
      // D died after its last token but before its final message.
      result.finished.set_finish_reason(baton::v1::FINISH_REASON_LENGTH);
      break;
    }
    const absl::Span<const int32_t> prompt(leg_base.prompt_token_ids().data(),
                                           leg_base.prompt_token_ids_size());
    std::vector<WorkerView> decoders =
        pool_->Candidates(v1::WORKER_ROLE_DECODE, prompt, failed_decode);
    if (decoders.empty()) {
      if (!last_failure.ok()) {
        return absl::UnavailableError(absl::StrCat(
            "no other healthy decode worker after: ", last_failure.message()));
      }
      return absl::UnavailableError("no healthy decode worker");
    }
    // After a failed prefill, D prefills the prompt itself: the same D while it is healthy.
    auto same = std::find_if(decoders.begin(), decoders.end(), [&](const WorkerView& w) {
      return w.address == previous_decode;
    });
    const std::string decode_address =
        prefill_failed && same != decoders.end()
            ? same->address
            : decoders[Pick(v1::WORKER_ROLE_DECODE, decoders)].address;
    previous_decode = decode_address;
    metrics_->CountDecision("decode", decode_address);
    auto decode_stub = v1::DecodeService::NewStub(pool_->Channel(decode_address));
    const auto decode_in_flight = pool_->Begin(decode_address, 0);

    v1::DecodeRequest leg = leg_base;
    std::string local_reason;
    if (colocated) {
      local_reason = "colocated";
    } else if (prefill_failed) {
      local_reason = "prefill_failed";
    } else {
      const std::vector<WorkerView> prefillers = pool_->Candidates(v1::WORKER_ROLE_PREFILL, prompt);
      if (prefillers.empty()) {
        local_reason = "no_prefill_worker";
      } else if (options_.prefill_saturated_tokens > 0 &&
                 std::all_of(prefillers.begin(), prefillers.end(), [&](const WorkerView& w) {
                   return w.load.queued_prompt_tokens() >= options_.prefill_saturated_tokens;
                 })) {
        local_reason = "prefill_saturated";
      }
    }
    leg.set_local_prefill(!local_reason.empty());
    if (local_reason.empty()) leg.set_local_prefill_max_tokens(options_.local_prefill_max_tokens);
    if (!local_reason.empty()) metrics_->CountLocalPrefill(local_reason);

    // Prefill workers of this leg: each tried once, in the policy's order.
    absl::flat_hash_set<std::string> tried_prefill;
    std::vector<std::unique_ptr<v1::PrefillService::Stub>> prefill_stubs;
    std::vector<std::unique_ptr<WorkerPool::InFlight>> prefill_in_flight;
    const PrefillPicker picker = [&](int attempt,
                                     const absl::Status&) -> v1::PrefillService::Stub* {
      if (attempt >= options_.max_prefill_attempts) return nullptr;
      std::vector<WorkerView> candidates =
          pool_->Candidates(v1::WORKER_ROLE_PREFILL, prompt, tried_prefill);
      if (candidates.empty()) return nullptr;
      const WorkerView& chosen = candidates[Pick(v1::WORKER_ROLE_PREFILL, candidates)];
      if (attempt > 0) metrics_->CountPrefillRetry();
      metrics_->CountDecision("prefill", chosen.address);
      tried_prefill.insert(chosen.address);
      prefill_in_flight.clear();  // the previous attempt is over
      prefill_in_flight.push_back(pool_->Begin(chosen.address, chosen.prompt_tokens));
      prefill_stubs.push_back(v1::PrefillService::NewStub(pool_->Channel(chosen.address)));
      return prefill_stubs.back().get();
    };
    const HandoffOutcome outcome =
        RunHandoff(*decode_stub, leg, deadline, options_.prefill_attempt_timeout, picker,
                   on_tokens, &result, options_.clock);
    if (outcome.prefilled_on_decode && local_reason.empty()) {
      metrics_->CountLocalPrefill("short_uncached");
    }
    if (outcome.failed == HandoffOutcome::Failed::kNone) break;
    if (outcome.failed == HandoffOutcome::Failed::kCaller) return outcome.status;
    if (absl::Now() >= deadline) return outcome.status;
    if (outcome.failed == HandoffOutcome::Failed::kPrefill) {
      if (!RetryablePrefillFailure(outcome.status)) return outcome.status;
      // Every attempt failed and D released the blocks: D prefills the prompt itself.
      LOG(WARNING) << "router: request " << request.request_id
                   << ": prefill failed, prefilling on the decode worker: " << outcome.status;
      prefill_failed = true;
      continue;
    }
    if (outcome.protocol_error || !RetryableDecodeFailure(outcome.status)) return outcome.status;
    last_failure = outcome.status;
    failed_decode.insert(decode_address);
    if (outcome.tokens_relayed > 0) {
      if (migrations >= options_.max_migrations) {
        return absl::UnavailableError(absl::StrCat(
            "decode worker ", decode_address, " failed mid-stream after ", migrations,
            " migrations of this request: ", outcome.status.message()));
      }
      ++migrations;
      metrics_->CountMigration();
      LOG(WARNING) << "router: request " << request.request_id << ": decode worker "
                   << decode_address << " failed after " << result.tokens.size()
                   << " tokens, migrating: " << outcome.status;
    } else {
      if (++decode_attempts >= options_.max_decode_attempts) {
        return absl::UnavailableError(absl::StrCat("decode failed on ", decode_attempts,
                                                   " workers, last ", decode_address, ": ",
                                                   outcome.status.message()));
      }
      metrics_->CountDecodeRetry();
    }
  }
  result.finished.set_prompt_tokens(static_cast<int32_t>(request.prompt.size()));
  result.finished.set_completion_tokens(static_cast<int32_t>(result.tokens.size()));
  return result;
}

}  // namespace baton::router
