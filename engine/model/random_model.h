// Builds GGUF files of random-weight models of any shape and tensor type, for tests, tools and
// benchmarks (speed does not depend on weight values). Weights are N(0, std) from a seeded
// generator; norm weights are 1 + N(0, std); a minimal llama-style vocabulary (<unk>, <s>, </s>,
// the 256 byte tokens, then "tok<N>") is included so tools can print text.
// Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

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
  // Per-weight exceptions to `type`, as llama.cpp's Q*_K_M/S mixes make them: a 2-D weight whose
  // name ends with an entry's suffix takes the entry's type (first match). See ApplyQuantMix.
  std::vector<std::pair<std::string, TensorType>> type_overrides;
  // Quantize to `type` and then write the dequantized values as F32: the exact F32 twin of the
  // quantized model, for comparing the quantized kernels against the F32 path.
  bool dequantize_to_f32 = false;
  uint64_t seed = 1;
  float weight_std = 0.02f;
  // Architecture features, written as their GGUF keys/tensors when set. head_dim > 0 writes
  // attention.key_length/value_length (heads then need not divide n_embd).
  int32_t head_dim = 0;
  int32_t sliding_window = 0;
  float attn_softcap = 0.0f;
  float final_softcap = 0.0f;
  std::string rope_scaling;  // rope.scaling.type ("linear", "yarn", "llama3") with the factor
  float rope_scaling_factor = 1.0f;
  int32_t rope_orig_context = 0;  // rope.scaling.original_context_length when > 0
  bool rope_freqs = false;         // a rope_freqs.weight tensor of divisors around 2
  bool long_rope_factors = false;  // rope_factors_long/short.weight (around 3 and 1.5)
  // Written as tokenizer.ggml.eot_token_id when >= 0, so tests can make an ordinary token end
  // generation (as <|eot_id|> does) without changing the weights.
  int32_t eot_token_id = -1;
};

// Named shapes: "tiny" (the defaults above) and "llama-3.2-1b" (2048 embd, 16 layers, 32/8
// heads, 8192 ff, 128256 vocab, rope base 500000, tied). kInvalidArgument for other names.
absl::StatusOr<RandomModelSpec> NamedShape(const std::string& name);

// Sets spec->type and spec->type_overrides to a llama.cpp-style mixed quantization:
// "q4_k_m" (Q4_K, with Q6_K for attn_v, ffn_down and output) or "q3_k_m" (Q3_K, with Q5_K for
// the same three). kInvalidArgument for other names.
absl::Status ApplyQuantMix(const std::string& mix, RandomModelSpec* spec);

// The serialized GGUF file. kInvalidArgument when a dimension is not positive, heads do not
// divide the embedding, eot_token_id is not below vocab_size, or a row length is not a multiple
// of its type's block size.
absl::StatusOr<std::string> BuildRandomModel(const RandomModelSpec& spec);

// Same, written to `path` (kInternal on I/O errors).
absl::Status WriteRandomModel(const RandomModelSpec& spec, const std::string& path);

}  // namespace baton::engine
