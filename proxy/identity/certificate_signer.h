#pragma once

#include <functional>
#include <string>

#include "proxy/xds/grpc_bidi_stream.h"
#include "weft/v1/ca.pb.h"

namespace weft::proxy::identity {

// Who signs the proxy's certificate requests: the control plane's CertificateService in the
// proxy (GrpcCertificateSigner), a scripted fake in tests.
class CertificateSigner {
 public:
  // The call's status and, when it is OK, the response.
  using Done =
      std::function<void(xds::GrpcStatus status, weft::v1::CreateCertificateResponse response)>;

  virtual ~CertificateSigner() = default;

  // Sends one request. `done` runs exactly once, later, from the io_context (never from inside
  // this call), unless cancel() runs first. One request at a time.
  virtual void sign(const weft::v1::CreateCertificateRequest& request, Done done) = 0;

  // Abandons the request in flight, if any; its `done` does not run.
  virtual void cancel() = 0;

  // Where requests go, e.g. "127.0.0.1:15010", for logs and the admin endpoint.
  virtual std::string target() const = 0;
};

}  // namespace weft::proxy::identity
