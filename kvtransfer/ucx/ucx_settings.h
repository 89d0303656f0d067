// The UCX settings a UcxKvTransport applies on top of UCX's own defaults and the environment.
//
// Tuned defaults (each applied only when neither the environment's UCX_<NAME> nor the caller's
// Options::ucx_config names the setting, so an operator's choice always wins):
// - RX_SEG_SIZE=512K (UCX_TCP_RX_SEG_SIZE; through ucp_config_modify UCX 1.13 matches transport
//   settings without their transport prefix, and warns "invalid configuration" for names that
//   no transport took, such as TCP_RX_SEG_SIZE). Over tcp, UCX delivers a rendezvous active message's payload in
//   receive segments of this size (default 64K). With 1-4 MiB layer runs, 512K segments moved
//   the KV 35-60% faster on loopback (kv_bench, docs/BENCHMARKS.md), while ucx_perftest's
//   tag_bw did not change with it. Cost: receive buffers grow 8 segments (4 MiB) at a time.
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
  std::string env_name;  // The environment variable that sets the same thing.
  std::string alias;     // Another spelling a caller may use in Options::ucx_config.
};
const std::vector<UcxTunedDefault>& UcxTunedDefaults();

// What to pass to ucp_config_modify, in order: the tuned defaults not overridden by the
// environment (`getenv`, a seam for tests) or by `requested` (names compared ignoring case), then `requested` as given.
UcxSettings EffectiveUcxSettings(const UcxSettings& requested,
                                 absl::FunctionRef<const char*(const char*)> getenv);

}  // namespace baton::kvtransfer
