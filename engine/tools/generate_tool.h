// The `generate` tool's logic: load a model, tokenize a text prompt with the model's own
// tokenizer (or take token ids), run Generate, render one JSON object. main.cc only parses flags
// into GenerateToolOptions. Single-threaded caller.
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
  // Exactly one of the two: token ids used as they are, or text tokenized with the model's
  // tokenizer (BOS added when the model's metadata asks for it).
  std::vector<int32_t> prompt_tokens;
  std::string prompt_text;
  int32_t max_tokens = 32;
  SamplingParams sampling;
  int32_t threads = 1;
  KvDType kv_dtype = KvDType::kF16;
  // Stop after any of the model's end-of-generation tokens (tokenizer/end_of_generation.h), as
  // the decode worker does unless a request sets ignore_eos.
  bool stop_at_eos = false;
};

// Returns the JSON text: {"prompt_tokens": [...], "tokens": [...], "text": "...",
// "prefill_tokens_per_second": x, "decode_tokens_per_second": y, "prefill_ms", "decode_ms"}.
// "text" is the generated tokens decoded with the model's tokenizer.
// Errors: the loader's codes for the model; kInvalidArgument for bad options or token ids, or
// both or neither of prompt_tokens and prompt_text; the tokenizer's codes for its metadata.
absl::StatusOr<std::string> RunGenerateTool(const GenerateToolOptions& options);

}  // namespace baton::engine::tools
