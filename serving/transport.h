// Creates the KV transport a worker was configured with, by its registered name
// (//kvtransfer:transport_registry: "ucx", "nccl", "inprocess", ...), and parses the UCX
// settings flag. Shared by both workers' object graphs.
//
// Thread-safe free functions.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kvtransfer/kv_transport.h"

namespace baton::serving {

struct TransportOptions {
  // A registered transport name: "ucx" (between processes), "nccl" (GPU memory, CUDA build),
  // "inprocess" (tests, one process).
  std::string kind = "ucx";
  // UCX settings without the UCX_ prefix, e.g. {{"TLS", "tcp"}}; applied over the environment.
  std::vector<std::pair<std::string, std::string>> ucx_config;
  // UCX: how long the progress thread keeps polling after activity before it sleeps
  // (UcxKvTransport::Options::spin_before_sleep). Longer keeps transfers off the wake-up path
  // (docs/BENCHMARKS.md) at the price of CPU time after each transfer.
  absl::Duration progress_spin = absl::Microseconds(200);
  // NCCL: the CUDA device of the KV pool.
  int cuda_device = 0;
};

// kInvalidArgument for an unknown kind (the message lists the registered ones), bad UCX settings or a negative progress_spin; kUnavailable when UCX finds no
// usable transport.
absl::StatusOr<std::unique_ptr<kvtransfer::KvTransport>> CreateTransport(
    const TransportOptions& options);

// Parses "TLS=tcp,NET_DEVICES=lo" (empty string: no settings). kInvalidArgument when an entry
// has no '=' or an empty name.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseUcxConfig(
    const std::string& text);

}  // namespace baton::serving
