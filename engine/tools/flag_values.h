// Parsers for the tools' flag values (token id lists, KV cache types). Pure functions:
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/kv_cache/kv_layout.h"

namespace baton::engine::tools {

// Parses "1,2,3" (spaces allowed) into ids; kInvalidArgument on anything else or an empty list.
absl::StatusOr<std::vector<int32_t>> ParseTokenList(const std::string& text);

// "f16" or "f32"; kInvalidArgument otherwise.
absl::StatusOr<KvDType> ParseKvDType(const std::string& text);

}  // namespace baton::engine::tools
