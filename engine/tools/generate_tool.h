// The `generate` tool's logic: load a model, run Generate on prompt token ids, render one JSON
// object. main.cc only parses flags into GenerateToolOptions. Single-threaded caller.
//
// Seam for text prompts: a tokenizer turns the prompt into ids, fills prompt_tokens and calls
// RunGenerateTool unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/kv_cache/kv_layout.h"
#include "engine/sampler/sampler.h"

namespace baton::engine::tools {

struct GenerateToolOptions {
  std::string model_path;
  std::vector<int32_t> prompt_tokens;
  int32_t max_tokens = 32;
  SamplingParams sampling;
  int32_t threads = 1;
  KvDType kv_dtype = KvDType::kF16;
  bool stop_at_eos = false;
};

// Returns the JSON text: {"prompt_tokens": [...], "tokens": [...], "text": "...",
// "prefill_tokens_per_second": x, "decode_tokens_per_second": y, "prefill_ms", "decode_ms"}.
// Errors: the loader's codes for the model; kInvalidArgument for bad options or token ids.
absl::StatusOr<std::string> RunGenerateTool(const GenerateToolOptions& options);

}  // namespace baton::engine::tools
