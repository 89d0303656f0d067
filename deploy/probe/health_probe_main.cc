// baton_health: exits 0 when the gRPC server at --address answers SERVING on grpc.health.v1,
// 1 otherwise (printing why). Kubernetes runs it as the exec readiness/liveness probe of baton's
// pods, because the kubelet's own gRPC probe cannot speak TLS; it takes the same --tls_* flags
// as the servers (common/tls_flags.h).
//
//   baton_health --address=127.0.0.1:5000 --tls_ca=/tls/ca.crt --tls_cert=... --tls_key=...
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/grpc_credentials.h"
#include "common/grpc_health.h"
#include "common/tls_flags.h"

ABSL_FLAG(std::string, address, "127.0.0.1:5000", "host:port of the gRPC server to check.");
ABSL_FLAG(int32_t, timeout_ms, 3000, "Longest the check may take.");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<baton::common::TlsMaterial> tls = baton::common::TlsFromFlags();
  if (!tls.ok()) {
    std::cerr << "baton_health: " << tls.status() << "\n";
    return 2;
  }
  absl::StatusOr<bool> serving = baton::common::CheckGrpcHealth(
      baton::common::MakeWorkerChannel(absl::GetFlag(FLAGS_address), *tls),
      absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms)));
  if (!serving.ok()) {
    std::cerr << "baton_health: " << serving.status() << "\n";
    return 1;
  }
  if (!*serving) {
    std::cerr << "baton_health: NOT_SERVING\n";
    return 1;
  }
  return 0;
}
