#pragma once

#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include "common/tls/result.h"

namespace weft::cli {

// The sidecar injector's serving certificate, and the CA the API server trusts it by (the
// webhook's caBundle). `weftctl install` generates them, or takes them from --injector-tls-dir;
// `weftctl check` judges what the cluster holds.

// The names the API server dials the webhook by: Service weft-system/weft-injector.
inline constexpr std::array<std::string_view, 2> kInjectorHosts = {
    "weft-injector.weft-system.svc", "weft-injector.weft-system.svc.cluster.local"};

// PEM text of the three files (the keys of Secret weft-injector-tls).
struct InjectorTls {
  std::string ca_pem;    // ca.crt: the caBundle (one or more CA certificates)
  std::string cert_pem;  // tls.crt: the serving certificate (then any intermediates)
  std::string key_pem;   // tls.key: its private key
};

// A new CA (ECDSA P-256, CA:TRUE, valid ten years from an hour before `now`) and a serving
// certificate it signs for kInjectorHosts (ECDSA P-256, serverAuth, valid as long as the CA).
// The CA's key is not kept: it signs this one certificate and is gone, so no copy of it can
// ever sign another name the API server would trust for the webhook.
tls::Result<InjectorTls> generateInjectorTls(std::chrono::sys_seconds now);

// ca.crt, tls.crt and tls.key from `directory`, checked with injectorTlsProblem.
tls::Result<InjectorTls> readInjectorTls(const std::string& directory,
                                         std::chrono::sys_seconds now);

// Why `material` cannot serve the webhook at `at`: a file that is not PEM of its kind, a key that
// is not the certificate's, a certificate that does not chain to ca.crt (or is not valid at
// `at`), or that does not name weft-injector.weft-system.svc. Empty when it can.
std::string injectorTlsProblem(const InjectorTls& material, std::chrono::sys_seconds at);

// Only the chain and the name: `cert_pem` verified against the roots in `ca_pem` at `at` for
// weft-injector.weft-system.svc (as the API server will). Empty when it verifies.
std::string injectorCertificateProblem(const std::string& ca_pem, const std::string& cert_pem,
                                       std::chrono::sys_seconds at);

}  // namespace weft::cli
