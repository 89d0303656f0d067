// What the local launcher starts: the command lines of the decode workers, prefill workers and
// router for LaunchOptions. Pure functions (tested without starting anything).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "deploy/local/supervisor.h"

namespace baton::deploy {

struct LaunchOptions {
  std::string bin_dir;  // holds router/router, prefill_worker/prefill_worker, ...
  std::string model;
  std::string model_name = "baton";
  int prefill_workers = 1;
  int decode_workers = 1;
  // No prefill workers: the decode workers prefill themselves (the colocated baseline).
  bool colocated = false;
  int threads = 1;
  std::string host = "127.0.0.1";
  int http_port = 8000;
  int grpc_port = 8001;
  // Workers' ports: 0 lets each pick free ones; otherwise worker i of the launch order gets
  // gRPC base + 2i and HTTP base + 2i + 1 (decode workers first).
  int worker_port_base = 0;
  std::string transport = "ucx";
  std::string ucx_tls;  // UCX_TLS for the workers; empty: UCX's default set
  // TLS flags handed to every process as given (common/tls_flags.h).
  std::vector<std::string> tls_flags;
};

// kInvalidArgument for counts below 1 (prefill: below 0, or above 0 when colocated), threads
// below 1, an empty model or bin_dir.
absl::Status ValidateLaunch(const LaunchOptions& options);

// Decode workers then prefill workers (none when colocated), named decode-0.., prefill-0...
std::vector<ChildSpec> WorkerSpecs(const LaunchOptions& options);

// The router in front of workers at `decode` and `prefill` ("host:port" each): --decode and
// --prefill take comma-separated lists. With TLS flags and no --tls_client_auth among them, its
// public API does not require client certificates (--tls_client_auth=false).
ChildSpec RouterSpec(const LaunchOptions& options, const std::vector<std::string>& decode,
                     const std::vector<std::string>& prefill);

}  // namespace baton::deploy
