#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "proxy/identity/ca_client_config.h"
#include "proxy/identity/certificate_signer.h"
#include "proxy/xds/grpc_unary_call.h"

namespace weft::proxy::identity {

// CreateCertificate on the control plane's CertificateService, as a unary call over the proxy's
// own gRPC client (proxy/xds, decision 38). The token file is read at every request, so a
// rotated service-account token is used; an unreadable or empty one fails the request here,
// since the CA would refuse it anyway.
class GrpcCertificateSigner final : public CertificateSigner {
 public:
  GrpcCertificateSigner(boost::asio::io_context& io_context, CaClientConfig config);
  ~GrpcCertificateSigner() override;

  void sign(const weft::v1::CreateCertificateRequest& request, Done done) override;
  void cancel() override;
  std::string target() const override { return config_.authority(); }

 private:
  boost::asio::io_context& io_context_;
  CaClientConfig config_;
  std::shared_ptr<xds::GrpcUnaryCall> call_;
  // A failure found before any call (no token), posted to report it later: true until
  // cancelled.
  std::shared_ptr<bool> local_failure_;
};

}  // namespace weft::proxy::identity
