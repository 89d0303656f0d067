// The first generated token's handoff from the prefill worker to the decode worker. P samples it
// and packs it, with what the client asked to know about it (its logprobs), into the KV
// transfer's completion message; D unpacks and checks it, then streams the token and its
// logprobs in one message, exactly as it streams a token it sampled itself. The one owner of
// baton.internal.v1.KvCompletionPayload.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "engine/sampler/sampler.h"
#include "kvtransfer/kv_transport.h"
#include "proto/baton/v1/inference.pb.h"
#include "serving/sampling.h"

namespace baton::serving {

// P's completion for the token it sampled: the token, and its logprobs when the request asked
// for them (sampling.logprobs).
kvtransfer::Completion FirstTokenCompletion(const RequestSampling& sampling,
                                            const engine::SampleResult& sample);

struct FirstToken {
  int32_t token = 0;
  // Set exactly when the request asked for logprobs.
  std::optional<baton::v1::PositionLogprobs> logprobs;
};

// What D learns from P's completion. The completion comes from a peer, so it is checked:
// kDataLoss when the token is outside [0, vocab_size), the payload does not parse, or the request
// asked for logprobs and the payload has none for this token.
absl::StatusOr<FirstToken> FirstTokenFromCompletion(const kvtransfer::Completion& completion,
                                                    const RequestSampling& sampling,
                                                    int32_t vocab_size);

}  // namespace baton::serving
