#include "common/tls_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain: serve gRPC (and the router's HTTP port) over TLS.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA bundle: verify the servers this process dials (TLS to workers) and, with "
          "--tls_client_auth, require client certificates signed by it (mutual TLS).");
ABSL_FLAG(bool, tls_client_auth, true,
          "With --tls_ca, gRPC servers refuse clients without a certificate signed by it.");
ABSL_FLAG(std::string, tls_server_name, "",
          "Name expected in the certificates of dialed servers instead of their host.");

namespace baton::common {

absl::StatusOr<TlsMaterial> TlsFromFlags() {
  TlsFiles files;
  files.cert_file = absl::GetFlag(FLAGS_tls_cert);
  files.key_file = absl::GetFlag(FLAGS_tls_key);
  files.ca_file = absl::GetFlag(FLAGS_tls_ca);
  files.require_client_cert = absl::GetFlag(FLAGS_tls_client_auth);
  files.server_name = absl::GetFlag(FLAGS_tls_server_name);
  return LoadTls(files);
}

}  // namespace baton::common
