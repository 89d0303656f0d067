#include "kvtransfer/ucx/ucx_settings.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace baton::kvtransfer {

const std::vector<UcxTunedDefault>& UcxTunedDefaults() {
  static const auto* const defaults = new std::vector<UcxTunedDefault>{
      {"RX_SEG_SIZE", "512K", "UCX_TCP_RX_SEG_SIZE", "TCP_RX_SEG_SIZE", "tcp"}};
  return *defaults;
}

bool TlsAllows(const std::string& tls, const std::string& transport) {
  absl::string_view list = tls;
  const bool exclude = absl::ConsumePrefix(&list, "^");
  bool named = false;
  for (absl::string_view entry : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    if (absl::EqualsIgnoreCase(entry, transport)) named = true;
    if (!exclude && absl::EqualsIgnoreCase(entry, "all")) return true;
  }
  if (list.empty()) return true;
  return exclude ? !named : named;
}

UcxSettings EffectiveUcxSettings(const UcxSettings& requested,
                                 absl::FunctionRef<const char*(const char*)> getenv) {
  auto find = [&requested](const std::string& name) -> const std::string* {
    for (const auto& [key, value] : requested) {
      if (absl::EqualsIgnoreCase(key, name)) return &value;
    }
    return nullptr;
  };
  std::string tls = "all";
  if (const std::string* value = find("TLS")) {
    tls = *value;
  } else if (const char* env = getenv("UCX_TLS")) {
    tls = env;
  }
  UcxSettings settings;
  for (const UcxTunedDefault& tuned : UcxTunedDefaults()) {
    if (find(tuned.name) != nullptr || find(tuned.alias) != nullptr) continue;
    if (getenv(tuned.env_name.c_str()) != nullptr || !TlsAllows(tls, tuned.transport)) continue;
    settings.emplace_back(tuned.name, tuned.value);
  }
  settings.insert(settings.end(), requested.begin(), requested.end());
  return settings;
}

}  // namespace baton::kvtransfer
