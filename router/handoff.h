// One run of a request on one decode worker (a "leg"): the prefill/decode handoff that
// DisaggClient and FleetRunner share.
//
//   1. open DecodeService.Decode on D; its first message is the KvTarget (D reserved blocks), or
//      LocalPrefill when D prefills itself (local_prefill, or local_prefill_max_tokens met)
//   2. after a KvTarget, call PrefillService.Prefill with the prompt, sampling and that KvTarget
//      on a thread of its own, while 3. reads the stream; a retryable failure (UNAVAILABLE,
//      RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED of one attempt) goes to the next prefill worker the
//      picker names, with the same KvTarget, while D's lease and the request's deadline last
//      (D accepts rewrites of a transfer until it completes); meanwhile D's lease is renewed
//      (LeaseRenewer), so a prompt queued on a busy prefill worker keeps its blocks
//   3. relay D's token messages to the caller until D's final message
// When the prefill fails for good, the Decode call is cancelled (D frees the blocks); when
// Decode fails or the caller stops, the Prefill call is cancelled (P drops or aborts the
// transfer). The outcome says which side failed, so the caller can go on elsewhere.
//
// Threading: RunHandoff blocks its caller and uses one extra thread for the Prefill calls.
#pragma once

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/baton/internal/v1/decode.grpc.pb.h"
#include "proto/baton/internal/v1/prefill.grpc.pb.h"
#include "router/generation_runner.h"
#include "serving/monotonic_clock.h"

namespace baton::router {

// The prefill worker for attempt `attempt` (0, 1, ...) of a leg, after the previous attempts
// failed with `last` (OK for attempt 0); null when there is no (other) worker to try. The stub
// must stay valid until the leg ends.
using PrefillPicker = std::function<baton::internal::v1::PrefillService::Stub*(
    int attempt, const absl::Status& last)>;

struct HandoffOutcome {
  enum class Failed {
    kNone,
    // The Decode call failed (status is D's) or broke the protocol (kInternal).
    kDecode,
    // Every prefill attempt failed (status is the last one's); D's blocks were released.
    kPrefill,
    // The caller's TokenCallback returned false (kCancelled).
    kCaller,
  };
  absl::Status status;
  Failed failed = Failed::kNone;
  // With kDecode: D broke the protocol (not a transport failure; retrying would not help).
  bool protocol_error = false;
  // D answered LocalPrefill instead of a KvTarget.
  bool prefilled_on_decode = false;
  // Token ids this leg relayed to the caller (appended to the result).
  int32_t tokens_relayed = 0;
};

// Runs `request` on `decode` until the deadline. Tokens and logprobs are appended to `result`,
// and its `finished` / `prefill` set when they arrive. D's lease is renewed while the prefill
// runs; its deadline is wall-clock time (Unix microseconds in the KvTarget and in each renewal):
// it is read against absl::Now() as it arrives and then counted down on `clock` (which must
// outlive the call), which decides whether a failed prefill may still be retried.
HandoffOutcome RunHandoff(baton::internal::v1::DecodeService::Stub& decode,
                          const baton::internal::v1::DecodeRequest& request, absl::Time deadline,
                          absl::Duration prefill_attempt_timeout, const PrefillPicker& picker,
                          const TokenCallback& on_tokens, DisaggResult* result,
                          const serving::MonotonicClock* clock = serving::SteadyClock::Get());

// The Decode call of `request` (local_prefill as asked); an unset seed becomes a random one, which
// every worker that serves the request then uses.
baton::internal::v1::DecodeRequest MakeDecodeRequest(const DisaggRequest& request);

// Whether a prefill attempt that failed with `status` may be retried elsewhere.
bool RetryablePrefillFailure(const absl::Status& status);

}  // namespace baton::router
