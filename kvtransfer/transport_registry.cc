#include "kvtransfer/transport_registry.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"

namespace baton::kvtransfer {
namespace {

struct Registry {
  absl::Mutex mu;
  std::map<std::string, TransportFactory, std::less<>> factories ABSL_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used during static init
  return *registry;
}

}  // namespace

bool RegisterTransport(absl::string_view name, TransportFactory factory) {
  Registry& registry = GetRegistry();
  absl::MutexLock lock(&registry.mu);
  registry.factories.emplace(std::string(name), std::move(factory));
  return true;
}

absl::StatusOr<std::unique_ptr<KvTransport>> CreateRegisteredTransport(
    absl::string_view name, const TransportSettings& settings) {
  TransportFactory factory;
  {
    Registry& registry = GetRegistry();
    absl::MutexLock lock(&registry.mu);
    auto it = registry.factories.find(name);
    if (it != registry.factories.end()) factory = it->second;
  }
  if (!factory) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown KV transport '", name, "' (registered: ",
                     absl::StrJoin(RegisteredTransportNames(), ", "), ")"));
  }
  return factory(settings);
}

std::vector<std::string> RegisteredTransportNames() {
  Registry& registry = GetRegistry();
  absl::MutexLock lock(&registry.mu);
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry.factories) names.push_back(name);
  return names;
}

}  // namespace baton::kvtransfer
