// Builds GGUF files of random-weight models of any shape and tensor type, for tests, tools and
// benchmarks (speed does not depend on weight values). Weights are N(0, std) from a seeded
// generator; norm weights are 1 + N(0, std); a minimal llama-style vocabulary (<unk>, <s>, </s>,
// the 256 byte tokens, then "tok<N>") is included so tools can print text.
// Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "engine/model/model_config.h"
#include "engine/tensor/tensor_type.h"

namespace baton::engine {

struct RandomModelSpec {
  ModelArch arch = ModelArch::kLlama;
  int32_t n_embd = 256;
  int32_t n_layers = 2;
  int32_t n_heads = 4;
  int32_t n_kv_heads = 2;
  int32_t n_ff = 512;
  int32_t vocab_size = 512;
  int32_t context_length = 512;
  float rope_base = 10000.0f;
  bool tied_output = true;
  // Type of every 2-D weight (embeddings included); 1-D tensors stay F32.
  TensorType type = TensorType::kF32;
  // Quantize to `type` and then write the dequantized values as F32: the exact F32 twin of the
  // quantized model, for comparing the quantized kernels against the F32 path.
  bool dequantize_to_f32 = false;
  uint64_t seed = 1;
  float weight_std = 0.02f;
  // Written as tokenizer.ggml.eot_token_id when >= 0, so tests can make an ordinary token end
  // generation (as <|eot_id|> does) without changing the weights.
  int32_t eot_token_id = -1;
};

// Named shapes: "tiny" (the defaults above) and "llama-3.2-1b" (2048 embd, 16 layers, 32/8
// heads, 8192 ff, 128256 vocab, rope base 500000, tied). kInvalidArgument for other names.
absl::StatusOr<RandomModelSpec> NamedShape(const std::string& name);

// The serialized GGUF file. kInvalidArgument when a dimension is not positive, heads do not
// divide the embedding, eot_token_id is not below vocab_size, or a row length is not a multiple
// of the type's block size.
absl::StatusOr<std::string> BuildRandomModel(const RandomModelSpec& spec);

// Same, written to `path` (kInternal on I/O errors).
absl::Status WriteRandomModel(const RandomModelSpec& spec, const std::string& path);

}  // namespace baton::engine
