#include "serving/transport.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kvtransfer/transport_registry.h"

namespace baton::serving {

absl::StatusOr<std::unique_ptr<kvtransfer::KvTransport>> CreateTransport(
    const TransportOptions& options) {
  kvtransfer::TransportSettings settings;
  settings.ucx_config = options.ucx_config;
  settings.progress_spin = options.progress_spin;
  settings.cuda_device = options.cuda_device;
  return kvtransfer::CreateRegisteredTransport(options.kind, settings);
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseUcxConfig(
    const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    if (entry.find('=') == absl::string_view::npos || kv.first.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("UCX setting '", std::string(entry), "' is not NAME=value"));
    }
    out.push_back(std::move(kv));
  }
  return out;
}

}  // namespace baton::serving
