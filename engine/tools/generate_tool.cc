#include "engine/tools/generate_tool.h"

#include "common/status_macros.h"
#include "engine/model/model.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/generate.h"
#include "engine/tools/naive_detokenizer.h"
#include "nlohmann/json.hpp"

namespace baton::engine::tools {

absl::StatusOr<std::string> RunGenerateTool(const GenerateToolOptions& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::Load(options.model_path));
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                   Engine::Create(model, {.num_threads = options.threads}));
  GenerateOptions gen;
  gen.max_tokens = options.max_tokens;
  gen.sampling = options.sampling;
  gen.kv_dtype = options.kv_dtype;
  if (options.stop_at_eos && model->file().Has("tokenizer.ggml.eos_token_id")) {
    ASSIGN_OR_RETURN(int64_t eos, model->file().GetInt("tokenizer.ggml.eos_token_id"));
    gen.stop_tokens.push_back(static_cast<int32_t>(eos));
  }
  ASSIGN_OR_RETURN(GenerateResult result, Generate(*engine, options.prompt_tokens, gen));

  std::vector<std::string> pieces;
  if (model->file().Has("tokenizer.ggml.tokens")) {
    ASSIGN_OR_RETURN(pieces, model->file().GetStringArray("tokenizer.ggml.tokens"));
  }
  nlohmann::json out;
  out["prompt_tokens"] = options.prompt_tokens;
  out["tokens"] = result.tokens;
  out["text"] = NaiveDetokenize(pieces, result.tokens);
  out["prefill_ms"] = result.prefill_seconds * 1e3;
  out["decode_ms"] = result.decode_seconds * 1e3;
  out["prefill_tokens_per_second"] =
      result.prefill_seconds > 0 ? options.prompt_tokens.size() / result.prefill_seconds : 0.0;
  out["decode_tokens_per_second"] =
      result.decode_seconds > 0 ? result.decode_steps / result.decode_seconds : 0.0;
  // Invalid UTF-8 from byte tokens is replaced rather than failing the dump.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace baton::engine::tools
