// Creates the KV transport a worker was configured with ("ucx" or "inprocess") and parses the
// UCX settings flag. Shared by both workers' object graphs.
//
// Thread-safe free functions.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kvtransfer/kv_transport.h"

namespace baton::serving {

struct TransportOptions {
  // "ucx" (between processes) or "inprocess" (tests, one process).
  std::string kind = "ucx";
  // UCX settings without the UCX_ prefix, e.g. {{"TLS", "tcp"}}; applied over the environment.
  std::vector<std::pair<std::string, std::string>> ucx_config;
};

// kInvalidArgument for an unknown kind or bad UCX settings; kUnavailable when UCX finds no
// usable transport.
absl::StatusOr<std::unique_ptr<kvtransfer::KvTransport>> CreateTransport(
    const TransportOptions& options);

// Parses "TLS=tcp,NET_DEVICES=lo" (empty string: no settings). kInvalidArgument when an entry
// has no '=' or an empty name.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseUcxConfig(
    const std::string& text);

}  // namespace baton::serving
