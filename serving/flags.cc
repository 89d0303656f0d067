#include "serving/flags.h"

#include "absl/strings/str_cat.h"

namespace baton::serving {

absl::StatusOr<engine::KvDType> ParseKvDType(const std::string& text) {
  if (text == "f32") return engine::KvDType::kF32;
  if (text == "f16") return engine::KvDType::kF16;
  return absl::InvalidArgumentError(absl::StrCat("KV dtype must be f32 or f16, got '", text, "'"));
}

std::string ReadyLine(int grpc_port, int http_port) {
  return absl::StrCat("READY grpc_port=", grpc_port, " http_port=", http_port);
}

}  // namespace baton::serving
