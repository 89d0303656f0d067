#include "tests/router_clients.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "tests/worker_process.h"

namespace baton::testing {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// RunTool execs without a PATH search.
std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path == nullptr ? "" : path, ':')) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::StrCat("/usr/bin/", name);
}

absl::StatusOr<nlohmann::json> ParseOutput(const std::string& what,
                                           const absl::StatusOr<std::string>& out) {
  if (!out.ok()) return absl::InternalError(absl::StrCat(what, ": ", out.status().message()));
  nlohmann::json json = nlohmann::json::parse(*out, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_array()) {
    return absl::InternalError(absl::StrCat(what, " printed no JSON array: ", *out));
  }
  return json;
}

// protoc with Debian's grpc_python_plugin: python3-grpc-tools (1.14) bundles a protoc too old
// for proto3 `optional`, which inference.proto uses.
absl::StatusOr<std::string> PythonStubs() {
  static absl::Mutex mu(absl::kConstInit);
  static std::string* dir = nullptr;
  absl::MutexLock lock(&mu);
  if (dir != nullptr) return *dir;
  const std::string out = absl::StrCat(std::getenv("TEST_TMPDIR"), "/python_stubs");
  ::mkdir(out.c_str(), 0755);
  const std::string proto_root = RunfilePath("proto");
  absl::StatusOr<std::string> generated =
      RunTool(FindOnPath("protoc"),
              {absl::StrCat("-I", proto_root), absl::StrCat("--python_out=", out),
               absl::StrCat("--grpc_python_out=", out),
               absl::StrCat("--plugin=protoc-gen-grpc_python=", FindOnPath("grpc_python_plugin")),
               absl::StrCat(proto_root, "/baton/v1/inference.proto")});
  if (!generated.ok()) return generated.status();
  dir = new std::string(out);
  return *dir;
}

}  // namespace

absl::Status NodeClientsInstalled() {
  for (const char* package : {"openai", "ollama", "@grpc/grpc-js", "grpc-js-reflection-client"}) {
    const std::string manifest =
        RunfilePath(absl::StrCat("tests/clients/node_modules/", package, "/package.json"));
    if (!Exists(manifest)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "npm package ", package,
          " is not installed in tests/clients/node_modules:", " run scripts/setup.sh"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> RunNodeClient(const std::string& script, const nlohmann::json& spec,
                                             absl::Duration timeout) {
  if (absl::Status installed = NodeClientsInstalled(); !installed.ok()) return installed;
  return ParseOutput(
      script, RunTool(FindOnPath("node"),
                      {RunfilePath(absl::StrCat("tests/clients/", script)), spec.dump()}, timeout));
}

absl::StatusOr<nlohmann::json> RunPythonGrpcClient(const nlohmann::json& spec,
                                                   absl::Duration timeout) {
  absl::StatusOr<std::string> stubs = PythonStubs();
  if (!stubs.ok()) return stubs.status();
  // Debian's interpreter, which has python3-grpcio, whatever python3 comes first on PATH.
  return ParseOutput(
      "grpc_calls.py",
      RunTool("/usr/bin/python3", {RunfilePath("tests/clients/grpc_calls.py"), *stubs, spec.dump()},
              timeout));
}

}  // namespace baton::testing
