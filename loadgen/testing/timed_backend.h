// A router InferenceBackend with injected, known timing, for measuring loadgen against: each
// request's first token comes `first_token` after the call started and every further one
// `per_token` after the previous one was handed to the front end (so no gap is shorter than
// `per_token`), max_tokens tokens in all, one per streamed chunk. The timing of each request is chosen
// by a function of the request (e.g. of its prompt), so one run can mix fast and slow requests.
// The backend really waits: that is the behaviour under test.
//
// Test-only. Thread-safe: the servers' threads call Generate concurrently.
#pragma once

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "router/inference_backend.h"

namespace baton::loadgen::testing {

struct InjectedTiming {
  absl::Duration first_token;
  absl::Duration per_token;
};

class TimedBackend : public router::InferenceBackend {
 public:
  using TimingFunction = std::function<InjectedTiming(const baton::v1::GenerateRequest&)>;

  explicit TimedBackend(TimingFunction timing) : timing_(std::move(timing)) {}

  // Usage reports the prompt's characters as its tokens and max_tokens as the completion's.
  absl::StatusOr<baton::v1::GenerateResponse> Generate(const baton::v1::GenerateRequest& request,
                                                       const router::CallContext& context,
                                                       const router::ChunkSink& on_chunk) override;
  baton::v1::ListModelsResponse ListModels() const override;
  absl::StatusOr<baton::v1::TokenizeResponse> Tokenize(
      const baton::v1::TokenizeRequest& request) const override;
  absl::StatusOr<std::string> ChatTemplateText(const std::string& model) const override;

 private:
  TimingFunction timing_;
};

}  // namespace baton::loadgen::testing
