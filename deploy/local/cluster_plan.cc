#include "deploy/local/cluster_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace baton::deploy {
namespace {

ChildSpec WorkerSpec(const LaunchOptions& options, const std::string& role, int index,
                     int launch_index) {
  ChildSpec spec;
  spec.name = absl::StrCat(role, "-", index);
  spec.binary = absl::StrCat(options.bin_dir, "/", role, "_worker/", role, "_worker");
  const int grpc_port =
      options.worker_port_base == 0 ? 0 : options.worker_port_base + 2 * launch_index;
  const int http_port = options.worker_port_base == 0 ? 0 : grpc_port + 1;
  spec.args = {absl::StrCat("--model=", options.model),
               absl::StrCat("--threads=", options.threads),
               absl::StrCat("--host=", options.host),
               absl::StrCat("--grpc_port=", grpc_port),
               absl::StrCat("--http_port=", http_port),
               absl::StrCat("--transport=", options.transport)};
  spec.args.insert(spec.args.end(), options.tls_flags.begin(), options.tls_flags.end());
  // One host: UCX over loopback unless the caller chose devices; quiet about unused settings.
  spec.env = {"UCX_WARN_UNUSED_ENV_VARS=n"};
  if (options.host == "127.0.0.1") spec.env.push_back("UCX_NET_DEVICES=lo");
  if (!options.ucx_tls.empty()) spec.env.push_back(absl::StrCat("UCX_TLS=", options.ucx_tls));
  return spec;
}

}  // namespace

absl::Status ValidateLaunch(const LaunchOptions& options) {
  if (options.model.empty()) return absl::InvalidArgumentError("no model");
  if (options.bin_dir.empty()) return absl::InvalidArgumentError("no binary directory");
  if (options.decode_workers < 1) {
    return absl::InvalidArgumentError("--decode_workers must be at least 1");
  }
  if (options.prefill_workers < 0) {
    return absl::InvalidArgumentError("--prefill_workers must not be negative");
  }
  if (options.threads < 1) return absl::InvalidArgumentError("--threads must be at least 1");
  return absl::OkStatus();
}

std::vector<ChildSpec> WorkerSpecs(const LaunchOptions& options) {
  std::vector<ChildSpec> specs;
  int launch_index = 0;
  for (int i = 0; i < options.decode_workers; ++i) {
    specs.push_back(WorkerSpec(options, "decode", i, launch_index++));
  }
  const int prefill = options.colocated ? 0 : options.prefill_workers;
  for (int i = 0; i < prefill; ++i) {
    specs.push_back(WorkerSpec(options, "prefill", i, launch_index++));
  }
  return specs;
}

ChildSpec RouterSpec(const LaunchOptions& options, const std::vector<std::string>& decode,
                     const std::vector<std::string>& prefill) {
  ChildSpec spec;
  spec.name = "router";
  spec.binary = absl::StrCat(options.bin_dir, "/router/router");
  spec.args = {absl::StrCat("--model=", options.model),
               absl::StrCat("--model_name=", options.model_name),
               absl::StrCat("--decode=", absl::StrJoin(decode, ",")),
               absl::StrCat("--prefill=", absl::StrJoin(prefill, ",")),
               absl::StrCat("--host=", options.host),
               absl::StrCat("--http_port=", options.http_port),
               absl::StrCat("--grpc_port=", options.grpc_port)};
  spec.args.insert(spec.args.end(), options.tls_flags.begin(), options.tls_flags.end());
  // The public API asks clients for no certificate (the printed curl line has none) unless the
  // caller chose otherwise; the workers still require the router's.
  const bool client_auth_given =
      std::any_of(options.tls_flags.begin(), options.tls_flags.end(), [](const std::string& f) {
        return f.rfind("--tls_client_auth", 0) == 0;
      });
  if (!options.tls_flags.empty() && !client_auth_given) {
    spec.args.push_back("--tls_client_auth=false");
  }
  return spec;
}

}  // namespace baton::deploy
