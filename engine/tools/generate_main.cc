// generate: greedy or sampled generation from prompt token ids, printed as one JSON object.
//   bazel run //engine/tools:generate -- --model m.gguf --prompt_tokens 1,403,407 --max_tokens 32
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "engine/tools/generate_tool.h"
#include "engine/tools/flag_values.h"

ABSL_FLAG(std::string, model, "", "GGUF model path");
ABSL_FLAG(std::string, prompt_tokens, "", "comma-separated prompt token ids (or --prompt)");
ABSL_FLAG(std::string, prompt, "", "prompt text, tokenized with the model's tokenizer");
ABSL_FLAG(int32_t, max_tokens, 32, "tokens to generate");
ABSL_FLAG(float, temperature, 0.0f, "0 = greedy");
ABSL_FLAG(int32_t, top_k, 0, "0 = off");
ABSL_FLAG(float, top_p, 1.0f, "nucleus mass in (0, 1]");
ABSL_FLAG(float, min_p, 0.0f, "min-p in [0, 1]");
ABSL_FLAG(uint64_t, seed, 0, "sampling seed");
ABSL_FLAG(int32_t, threads, 1, "threads");
ABSL_FLAG(std::string, kv_type, "f16", "KV cache type: f16 or f32");
ABSL_FLAG(bool, stop_at_eos, false, "stop after an end-of-generation token (EOS, EOT, ...)");
ABSL_FLAG(bool, json, true, "print JSON (the only format)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  baton::engine::tools::GenerateToolOptions options;
  options.model_path = absl::GetFlag(FLAGS_model);
  options.prompt_text = absl::GetFlag(FLAGS_prompt);
  if (options.prompt_text.empty()) {
    auto tokens = baton::engine::tools::ParseTokenList(absl::GetFlag(FLAGS_prompt_tokens));
    if (!tokens.ok()) {
      std::cerr << "--prompt_tokens: " << tokens.status() << "\n";
      return 2;
    }
    options.prompt_tokens = *tokens;
  }
  options.max_tokens = absl::GetFlag(FLAGS_max_tokens);
  options.sampling.temperature = absl::GetFlag(FLAGS_temperature);
  options.sampling.top_k = absl::GetFlag(FLAGS_top_k);
  options.sampling.top_p = absl::GetFlag(FLAGS_top_p);
  options.sampling.min_p = absl::GetFlag(FLAGS_min_p);
  options.sampling.seed = absl::GetFlag(FLAGS_seed);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.stop_at_eos = absl::GetFlag(FLAGS_stop_at_eos);
  auto kv = baton::engine::tools::ParseKvDType(absl::GetFlag(FLAGS_kv_type));
  if (!kv.ok()) {
    std::cerr << "--kv_type: " << kv.status() << "\n";
    return 2;
  }
  options.kv_dtype = *kv;
  auto json = baton::engine::tools::RunGenerateTool(options);
  if (!json.ok()) {
    std::cerr << "generate: " << json.status() << "\n";
    return 1;
  }
  std::cout << *json << "\n";
  return 0;
}
