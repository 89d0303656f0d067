// Test support: runs the third-party clients of tests/clients/ against a router and returns what
// they print (JSON; the scripts' headers describe each spec and result). The Node clients need
// tests/clients/node_modules, which scripts/setup.sh installs (npm ci); the gRPC client is
// Debian's /usr/bin/python3 with python3-grpcio and stubs this code generates with protoc.
//
// Every function blocks until the client exits; each is safe to call from several threads.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace baton::testing {

// OK when the Node clients' packages are installed; kFailedPrecondition saying to run
// scripts/setup.sh otherwise (a missing install is a broken setup, not a reason to skip).
absl::Status NodeClientsInstalled();

// Runs `node tests/clients/<script> <spec>` and parses the JSON array it prints. kInternal when
// the script fails (its stderr is in the test log) or prints no JSON.
absl::StatusOr<nlohmann::json> RunNodeClient(const std::string& script, const nlohmann::json& spec,
                                             absl::Duration timeout = absl::Seconds(120));

// Runs tests/clients/grpc_calls.py with stubs generated from proto/baton/v1/inference.proto
// into TEST_TMPDIR (once per process). Errors as RunNodeClient.
absl::StatusOr<nlohmann::json> RunPythonGrpcClient(const nlohmann::json& spec,
                                                   absl::Duration timeout = absl::Seconds(120));

}  // namespace baton::testing
