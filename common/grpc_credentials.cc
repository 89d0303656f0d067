#include "common/grpc_credentials.h"

#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace baton::common {

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsMaterial& tls) {
  if (!tls.serves_tls()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      !tls.ca.empty() && tls.require_client_cert
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_root_certs = tls.ca;
  options.pem_key_cert_pairs.push_back({tls.key, tls.cert});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::Channel> MakeWorkerChannel(const std::string& address,
                                                 const TlsMaterial& tls,
                                                 grpc::ChannelArguments args) {
  if (!tls.dials_tls()) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.ca;
  options.pem_private_key = tls.key;
  options.pem_cert_chain = tls.cert;
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
}

ChannelFactory MakeWorkerChannelFactory(TlsMaterial tls, grpc::ChannelArguments args) {
  return [tls = std::move(tls), args = std::move(args)](const std::string& address) {
    return MakeWorkerChannel(address, tls, args);
  };
}

}  // namespace baton::common
