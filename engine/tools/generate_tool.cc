#include "engine/tools/generate_tool.h"

#include "common/status_macros.h"
#include "engine/model/model.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/generate.h"
#include "engine/tokenizer/end_of_generation.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace baton::engine::tools {

absl::StatusOr<std::string> RunGenerateTool(const GenerateToolOptions& options) {
  if (options.prompt_tokens.empty() == options.prompt_text.empty()) {
    return absl::InvalidArgumentError("give exactly one of a text prompt and prompt token ids");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::Load(options.model_path));
  ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok,
                   tokenizer::LoadTokenizerFromGguf(model->file()));
  std::vector<int32_t> prompt = options.prompt_tokens;
  if (!options.prompt_text.empty()) {
    ASSIGN_OR_RETURN(prompt, tok->Encode(options.prompt_text, {.add_special = true}));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                   Engine::Create(model, {.num_threads = options.threads}));
  GenerateOptions gen;
  gen.max_tokens = options.max_tokens;
  gen.sampling = options.sampling;
  gen.kv_dtype = options.kv_dtype;
  if (options.stop_at_eos) gen.stop_tokens = tokenizer::EndOfGenerationIds(tok->vocab());
  ASSIGN_OR_RETURN(GenerateResult result, Generate(*engine, prompt, gen));

  nlohmann::json out;
  out["prompt_tokens"] = prompt;
  out["tokens"] = result.tokens;
  // The continuation of the prompt keeps its leading space.
  out["text"] = tok->Decode(result.tokens, {.strip_space_prefix = false});
  out["prefill_ms"] = result.prefill_seconds * 1e3;
  out["decode_ms"] = result.decode_seconds * 1e3;
  out["prefill_tokens_per_second"] =
      result.prefill_seconds > 0 ? prompt.size() / result.prefill_seconds : 0.0;
  out["decode_tokens_per_second"] =
      result.decode_seconds > 0 ? result.decode_steps / result.decode_seconds : 0.0;
  // Invalid UTF-8 from byte tokens is replaced rather than failing the dump.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace baton::engine::tools
