#include "kvtransfer/ucx/ucx_settings.h"

#include <algorithm>

#include "absl/strings/match.h"

namespace baton::kvtransfer {

const std::vector<UcxTunedDefault>& UcxTunedDefaults() {
  static const auto* const defaults = new std::vector<UcxTunedDefault>{
      {"RX_SEG_SIZE", "512K", "UCX_TCP_RX_SEG_SIZE", "TCP_RX_SEG_SIZE"}};
  return *defaults;
}

UcxSettings EffectiveUcxSettings(const UcxSettings& requested,
                                 absl::FunctionRef<const char*(const char*)> getenv) {
  UcxSettings settings;
  for (const UcxTunedDefault& tuned : UcxTunedDefaults()) {
    const bool requested_too =
        std::any_of(requested.begin(), requested.end(), [&tuned](const auto& r) {
          return absl::EqualsIgnoreCase(r.first, tuned.name) ||
                 absl::EqualsIgnoreCase(r.first, tuned.alias);
        });
    if (requested_too || getenv(tuned.env_name.c_str()) != nullptr) continue;
    settings.emplace_back(tuned.name, tuned.value);
  }
  settings.insert(settings.end(), requested.begin(), requested.end());
  return settings;
}

}  // namespace baton::kvtransfer
