#include "cli/control_plane_channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <fstream>
#include <sstream>

namespace weft::cli {

std::shared_ptr<grpc::Channel> controlPlaneChannel(const ControlPlaneTarget& target,
                                                   std::string& error) {
  if (target.ca_file.empty()) {
    return grpc::CreateChannel(target.address, grpc::InsecureChannelCredentials());
  }
  std::ifstream file(target.ca_file);
  std::ostringstream roots;
  roots << file.rdbuf();
  if (!file || roots.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    error = "cannot read PEM certificates from --control-plane-ca-file " + target.ca_file;
    return nullptr;
  }
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = roots.str();
  grpc::ChannelArguments arguments;
  if (!target.server_name.empty()) {
    // Checked against the certificate instead of the host dialed (and sent as SNI).
    arguments.SetSslTargetNameOverride(target.server_name);
  }
  return grpc::CreateCustomChannel(target.address, grpc::SslCredentials(tls), arguments);
}

}  // namespace weft::cli
