// TLS settings shared by every baton process: its own certificate and key (servers present them;
// the router also presents them to workers as its client certificate) and a CA bundle (clients
// verify servers against it; servers with it require and verify client certificates, i.e.
// mutual TLS, unless client authentication is turned off).
//
// Pure functions apart from reading the files; thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace baton::common {

struct TlsFiles {
  std::string cert_file;  // PEM certificate chain of this process
  std::string key_file;   // PEM private key of cert_file
  std::string ca_file;    // PEM CA bundle that peers' certificates must chain to
  // Servers with ca_file: require a client certificate signed by it (mutual TLS).
  bool require_client_cert = true;
  // Clients: the name expected in servers' certificates instead of the dialed host (e.g. one
  // certificate for every pod of a pool, dialed by pod IP).
  std::string server_name;
};

// The PEM contents of TlsFiles.
struct TlsMaterial {
  std::string cert;
  std::string key;
  std::string ca;
  bool require_client_cert = true;
  std::string server_name;

  // Serves TLS (a certificate is configured).
  bool serves_tls() const { return !cert.empty(); }
  // Dials TLS (a CA to verify servers is configured).
  bool dials_tls() const { return !ca.empty(); }
};

// Reads the files. kInvalidArgument when only one of cert/key is given; kNotFound /
// kInvalidArgument when a file cannot be read or holds no PEM block.
absl::StatusOr<TlsMaterial> LoadTls(const TlsFiles& files);

}  // namespace baton::common
