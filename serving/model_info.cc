#include "serving/model_info.h"

namespace baton::serving {

int32_t EosTokenId(const engine::Model& model) {
  absl::StatusOr<int64_t> eos = model.file().GetInt("tokenizer.ggml.eos_token_id");
  if (!eos.ok() || *eos < 0 || *eos >= model.config().vocab_size) return -1;
  return static_cast<int32_t>(*eos);
}

std::string ModelName(const engine::Model& model, const std::string& path) {
  absl::StatusOr<std::string> name = model.file().GetString("general.name");
  if (name.ok() && !name->empty()) return *name;
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace baton::serving
