#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/xds/control_plane_tls.h"
#include "weft/v1/bootstrap.pb.h"

namespace weft::proxy::identity {

// dynamic_resources.ca, read once at startup into what the certificate client needs, with the
// defaults of bootstrap.proto applied.
struct CaClientConfig {
  // The CertificateService: dynamic_resources.ca.server, else the ADS server.
  std::string host;
  uint16_t port = 0;
  // The bearer credential's file, read again at every request (the token rotates).
  std::string token_file;
  // TLS to the server; null: cleartext.
  std::shared_ptr<const xds::ControlPlaneTls> tls;
  // Deadline of one CreateCertificate call.
  std::chrono::milliseconds timeout{10'000};
  // Validity asked for (the CA may grant less).
  std::chrono::seconds validity{std::chrono::hours(24)};
  // Renewal point, in percent of the granted lifetime.
  double renew_at_percent = 50;
  weft::v1::CertificateAuthorityConfig::KeyType key_type =
      weft::v1::CertificateAuthorityConfig::ECDSA_P256;

  // "host:port" (IPv6 in brackets), for logs and the admin endpoint.
  std::string authority() const;
};

// Fills `out` from a bootstrap that sets dynamic_resources.ca. Returns an empty string, or why
// the bootstrap cannot be served: a CA server given by cluster (not implemented yet) or with
// TLS settings that cannot be used, no server at all (neither ca.server nor ads), or a static
// "identity" secret beside the CA (two sources for one identity). The message starts with the field
// path.
std::string caClientConfigFrom(const weft::v1::Bootstrap& bootstrap, CaClientConfig& out);

// The part of caClientConfigFrom's checks a reloaded file must pass too: no static "identity"
// secret, which would silently replace the certificate. Empty, or the error.
std::string staticIdentityConflict(const weft::v1::Bootstrap& bootstrap);

}  // namespace weft::proxy::identity
