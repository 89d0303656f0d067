// Bytes of weights one decode step reads from memory per sequence at batch 1: every weight
// matrix of every layer once, the output projection once and one row of the token embedding.
// Times tokens/s this is the achieved bandwidth the bench compares with the machine's bound.
// Pure: thread-safe.
#pragma once

#include <cstdint>

#include "engine/model/model.h"

namespace baton::engine::tools {

int64_t DecodeWeightBytesPerToken(const Model& model);

}  // namespace baton::engine::tools
