// gRPC credentials from TlsMaterial, for servers and for the channels to workers. Every channel
// the router (and the local launcher) opens to a worker is made by MakeWorkerChannel, so TLS is
// decided in one place.
//
// Thread-safe free functions.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/tls.h"
#include "grpcpp/grpcpp.h"

namespace baton::common {

// Insecure without a certificate; with one, TLS, and with a CA and require_client_cert, mutual
// TLS (clients without a certificate signed by the CA are refused during the handshake).
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsMaterial& tls);

// A channel to `address` ("host:port" or any gRPC target such as "dns:///name:port"): insecure
// without a CA; with one, TLS verifying the server against it (and its name against
// tls.server_name when set), presenting tls.cert as client certificate when set. `args` are the
// caller's channel settings (reconnect backoff, ...).
std::shared_ptr<grpc::Channel> MakeWorkerChannel(const std::string& address,
                                                 const TlsMaterial& tls,
                                                 grpc::ChannelArguments args = {});

using ChannelFactory = std::function<std::shared_ptr<grpc::Channel>(const std::string& address)>;

// MakeWorkerChannel bound to `tls` and `args` (copied).
ChannelFactory MakeWorkerChannelFactory(TlsMaterial tls, grpc::ChannelArguments args = {});

}  // namespace baton::common
