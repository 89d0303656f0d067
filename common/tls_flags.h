// The TLS flags of every baton binary (router, workers, local launcher): --tls_cert, --tls_key,
// --tls_ca, --tls_client_auth, --tls_server_name. Only main() calls TlsFromFlags.
#pragma once

#include "absl/status/statusor.h"
#include "common/tls.h"

namespace baton::common {

// Reads the files the flags name (LoadTls's errors).
absl::StatusOr<TlsMaterial> TlsFromFlags();

}  // namespace baton::common
