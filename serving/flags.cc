#include "serving/flags.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace baton::serving {

absl::StatusOr<engine::KvDType> ParseKvDType(const std::string& text) {
  if (text == "f32") return engine::KvDType::kF32;
  if (text == "f16") return engine::KvDType::kF16;
  return absl::InvalidArgumentError(absl::StrCat("KV dtype must be f32 or f16, got '", text, "'"));
}

std::string ReadyLine(int grpc_port, int http_port) {
  return absl::StrCat("READY grpc_port=", grpc_port, " http_port=", http_port);
}

std::optional<ReadyPorts> ParseReadyLine(absl::string_view line) {
  if (!absl::StartsWith(line, "READY ")) return std::nullopt;
  ReadyPorts ports;
  for (absl::string_view field : absl::StrSplit(line, ' ')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(field, absl::MaxSplits('=', 1));
    if (kv.first == "grpc_port") (void)absl::SimpleAtoi(kv.second, &ports.grpc_port);
    if (kv.first == "http_port") (void)absl::SimpleAtoi(kv.second, &ports.http_port);
  }
  return ports;
}

}  // namespace baton::serving
