// Readers of prompt datasets into RequestSpecs:
//   JSONL: one object per line, {"prompt": "...", "output_tokens": 128}; "output_len" and
//     "max_tokens" are accepted for the length; blank lines are skipped.
//   ShareGPT: a JSON array of {"conversations": [{"from": "human", "value": ...},
//     {"from": "gpt", "value": ...}, ...]}: the first human turn is the prompt and the length of
//     the reply after it (in the model's tokens) the expected output length; conversations
//     without such a pair are skipped, as `vllm bench serve` does.
// `count_tokens`, when given, fills prompt_tokens (and ShareGPT's output length); without it the
// reply's length is estimated as its bytes / 4. Stateless functions, thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "loadgen/request_spec.h"

namespace baton::loadgen {

using TokenCounter = std::function<int32_t(const std::string& text)>;

// kNotFound when the file cannot be read; kInvalidArgument naming the line for bad JSON, a
// missing or non-string "prompt", or a non-integer length.
absl::StatusOr<std::vector<RequestSpec>> ReadJsonlDataset(const std::string& path,
                                                          const TokenCounter& count_tokens);

// kNotFound when the file cannot be read; kInvalidArgument for JSON that is not an array of
// conversations.
absl::StatusOr<std::vector<RequestSpec>> ReadShareGptDataset(const std::string& path,
                                                             const TokenCounter& count_tokens);

}  // namespace baton::loadgen
