// Facts about a loaded model that the workers need beyond its ModelConfig: the end-of-sequence
// token and a display name.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "engine/model/model.h"

namespace baton::serving {

// tokenizer.ggml.eos_token_id, or -1 when the file names none (generation then stops only at
// max_tokens or the context length).
int32_t EosTokenId(const engine::Model& model);

// general.name when present, else the file's base name.
std::string ModelName(const engine::Model& model, const std::string& path);

}  // namespace baton::serving
