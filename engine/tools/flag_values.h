// Parsers for the tools' flag values (token id lists, KV cache types). Pure functions:
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/kv_cache/kv_layout.h"
#include "engine/tensor/tensor_type.h"

namespace baton::engine::tools {

// Parses "1,2,3" (spaces allowed) into ids; kInvalidArgument on anything else or an empty list.
absl::StatusOr<std::vector<int32_t>> ParseTokenList(const std::string& text);

// "f16" or "f32"; kInvalidArgument otherwise.
absl::StatusOr<KvDType> ParseKvDType(const std::string& text);

// A tensor type by its name in any case ("q4_0", "Q6_K", "f16"); kInvalidArgument otherwise.
absl::StatusOr<TensorType> ParseTensorType(const std::string& text);

// "suffix=type,suffix=type" (e.g. "token_embd.weight=q6_k") as RandomModelSpec::type_overrides
// entries, in order; "" is no overrides. kInvalidArgument on an entry without '=', an empty
// suffix or an unknown type.
absl::StatusOr<std::vector<std::pair<std::string, TensorType>>> ParseTypeOverrides(
    const std::string& text);

}  // namespace baton::engine::tools
