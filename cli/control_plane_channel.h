#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>

namespace weft::cli {

// Where weftctl reaches the control plane's gRPC port, and how.
struct ControlPlaneTarget {
  std::string address;  // host:port
  // PEM roots that verify the control plane's certificate; empty: plaintext.
  std::string ca_file;
  // The name checked against the certificate; empty: the host of `address`.
  std::string server_name;
};

// A channel to the control plane: TLS verified with target.ca_file when it is given. Null with
// the reason in `error` when the roots cannot be read.
std::shared_ptr<grpc::Channel> controlPlaneChannel(const ControlPlaneTarget& target,
                                                   std::string& error);

}  // namespace weft::cli
