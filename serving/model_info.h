// Facts about a loaded model that the workers need beyond its ModelConfig: a display name.
// (Where generation ends is the tokenizer's rule: engine::tokenizer::LoadEndOfGenerationIds.)
//
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "engine/model/model.h"

namespace baton::serving {

// general.name when present, else the file's base name.
std::string ModelName(const engine::Model& model, const std::string& path);

}  // namespace baton::serving
