#include "serving/model_info.h"

namespace baton::serving {

std::string ModelName(const engine::Model& model, const std::string& path) {
  absl::StatusOr<std::string> name = model.file().GetString("general.name");
  if (name.ok() && !name->empty()) return *name;
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace baton::serving
