// The UCX settings a UcxKvTransport applies on top of UCX's own defaults and the environment.
//
// Tuned defaults, each applied only when neither the environment's variable nor the caller's
// Options::ucx_config names the setting (an operator's choice always wins), and only when the
// transports it tunes may be used (UCX_TLS, from the caller or the environment, default all):
// - RX_SEG_SIZE=512K, for tcp (UCX_TCP_RX_SEG_SIZE). Over tcp, UCX delivers a rendezvous active
//   message's payload in receive segments of this size (default 64K). With 1-4 MiB layer runs,
//   512K segments moved the KV 35-60% faster on loopback (kv_bench, docs/BENCHMARKS.md), while
//   ucx_perftest's tag_bw did not change with it. Cost: receive buffers grow 8 segments (4 MiB)
//   at a time. Through ucp_config_modify UCX 1.13 matches transport settings without their
//   transport prefix; names no transport takes (TCP_RX_SEG_SIZE, or RX_SEG_SIZE without tcp)
//   draw an "invalid configuration" warning.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"

namespace baton::kvtransfer {

using UcxSettings = std::vector<std::pair<std::string, std::string>>;

struct UcxTunedDefault {
  std::string name;  // As ucp_config_modify takes it.
  std::string value;
  std::string env_name;   // The environment variable that sets the same thing.
  std::string alias;      // Another spelling a caller may use in Options::ucx_config.
  std::string transport;  // The UCX_TLS entry it tunes.
};
const std::vector<UcxTunedDefault>& UcxTunedDefaults();

// Whether a UCX_TLS value lets UCX use `transport`: "all" (or empty), a list naming it, or an
// exclusion list ("^a,b") that does not name it.
bool TlsAllows(const std::string& tls, const std::string& transport);

// What to pass to ucp_config_modify, in order: the tuned defaults that apply (see above), then
// `requested` as given. Names are compared ignoring case; `getenv` is a seam for tests.
UcxSettings EffectiveUcxSettings(const UcxSettings& requested,
                                 absl::FunctionRef<const char*(const char*)> getenv);

}  // namespace baton::kvtransfer
