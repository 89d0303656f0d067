// Flag values shared by both workers' main.cc, parsed into the option structs (libraries never
// read flags; only main does).
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/kv_cache/kv_layout.h"

namespace baton::serving {

// "f32" or "f16"; kInvalidArgument otherwise.
absl::StatusOr<engine::KvDType> ParseKvDType(const std::string& text);

// The line launchers and tests wait for: "READY grpc_port=N http_port=M".
std::string ReadyLine(int grpc_port, int http_port);

struct ReadyPorts {
  int grpc_port = 0;
  int http_port = 0;
};
// The ports of a ReadyLine; nullopt for any other line (a port it lacks stays 0).
std::optional<ReadyPorts> ParseReadyLine(absl::string_view line);

}  // namespace baton::serving
