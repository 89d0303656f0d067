// A plain transformer written out in doubles, one token at a time with no batching, paging or
// SIMD: the scalar reference that ForwardPass is checked against for every architecture of
// arch_table.h. It reads the same Model (F32 weights only) and implements each config feature
// from its definition in model_config.h / ops.h. Testonly. Thread-compatible (no shared state).
#pragma once

#include <cstdint>
#include <vector>

#include <memory>

#include "engine/model/model.h"

namespace baton::engine::testing {

// Logits (vocab_size each) of every position of `tokens`, run from position 0.
// Precondition: every weight of `model` is F32.
std::vector<std::vector<double>> ReferenceLogits(const Model& model,
                                                 const std::vector<int32_t>& tokens);

// Runs ForwardPass over `model` on a fixed 11-token sequence (a 7-token prefill, a 3-token chunk,
// then a decode step, over scattered 3-token KV blocks with an F32 cache) and expects every
// logit within `tolerance` of ReferenceLogits (gtest expectations).
void ExpectForwardMatchesReference(std::shared_ptr<const Model> model, double tolerance);

}  // namespace baton::engine::testing
