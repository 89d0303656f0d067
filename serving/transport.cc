#include "serving/transport.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kvtransfer/inprocess/inprocess_kv_transport.h"
#include "kvtransfer/ucx/ucx_kv_transport.h"

namespace baton::serving {

absl::StatusOr<std::unique_ptr<kvtransfer::KvTransport>> CreateTransport(
    const TransportOptions& options) {
  if (options.kind == kvtransfer::kInProcessTransportName) {
    return kvtransfer::InProcessKvTransport::Create();
  }
  if (options.kind == kvtransfer::kUcxTransportName) {
    if (options.progress_spin < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("the KV progress spin must not be negative");
    }
    kvtransfer::UcxKvTransport::Options ucx;
    ucx.ucx_config = options.ucx_config;
    ucx.spin_before_sleep = options.progress_spin;
    absl::StatusOr<std::unique_ptr<kvtransfer::UcxKvTransport>> transport =
        kvtransfer::UcxKvTransport::Create(ucx);
    if (!transport.ok()) return transport.status();
    return std::unique_ptr<kvtransfer::KvTransport>(*std::move(transport));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown KV transport '", options.kind, "' (want ucx or inprocess)"));
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
