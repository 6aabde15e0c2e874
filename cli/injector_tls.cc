#include "cli/injector_tls.h"

#include <openssl/x509v3.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "common/tls/certificate.h"
#include "common/tls/certificate_builder.h"
#include "common/tls/key.h"
#include "common/tls/pem.h"

namespace weft::cli {
namespace {

using std::chrono::hours;

// Long enough that no install has to plan a rotation (weftctl check warns 30 days before the
// end); the key never leaves the Secret, and the CA's key is discarded at once.
constexpr hours kValidity{24 * 3650};
// Clocks of the API server and the nodes may be behind the machine running weftctl.
constexpr hours kBackdating{1};

tls::Result<std::string> readFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return tls::Error{path + ": cannot be read"};
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (!file.good() && !file.eof()) {
    return tls::Error{path + ": cannot be read"};
  }
  return text.str();
}

}  // namespace

tls::Result<InjectorTls> generateInjectorTls(std::chrono::sys_seconds now) {
  const std::chrono::sys_seconds not_before = now - kBackdating;
  const std::chrono::sys_seconds not_after = now + kValidity;
  auto ca_key = tls::generateEcdsaP256Key();
  auto key = tls::generateEcdsaP256Key();
  if (!ca_key || !key) {
    return tls::Error{"cannot generate a key: " + (ca_key ? key.error() : ca_key.error())};
  }
  tls::CertificateBuilder ca_builder;
  ca_builder.setSubjectKey(**ca_key)
      .setSubjectName("Weft sidecar injector CA", "Weft")
      .setValidity(not_before, not_after)
      .addExtension(NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
      .addExtension(NID_key_usage, "critical,keyCertSign,cRLSign")
      .addExtension(NID_subject_key_identifier, "hash");
  auto ca = ca_builder.sign(**ca_key);
  if (!ca) {
    return tls::Error{"cannot sign the injector's CA certificate: " + ca.error()};
  }
  const std::vector<std::string> hosts(kInjectorHosts.begin(), kInjectorHosts.end());
  tls::CertificateBuilder builder;
  builder.setSubjectKey(**key)
      .setSubjectName(hosts.front())
      .setValidity(not_before, not_after)
      .setIssuer(ca->get())
      .addServerSubjectAltNames(hosts, /*critical=*/false)
      .addExtension(NID_basic_constraints, "critical,CA:FALSE")
      .addExtension(NID_key_usage, "critical,digitalSignature")
      .addExtension(NID_ext_key_usage, "serverAuth")
      .addExtension(NID_subject_key_identifier, "hash")
      .addExtension(NID_authority_key_identifier, "keyid:always");
  auto leaf = builder.sign(**ca_key);
  if (!leaf) {
    return tls::Error{"cannot sign the injector's serving certificate: " + leaf.error()};
  }
  auto ca_pem = tls::writeCertificatePem(**ca);
  auto cert_pem = tls::writeCertificatePem(**leaf);
  auto key_pem = tls::writePrivateKeyPem(**key);
  if (!ca_pem || !cert_pem || !key_pem) {
    return tls::Error{"cannot encode the injector's certificates"};
  }
  return InjectorTls{std::move(*ca_pem), std::move(*cert_pem), std::move(*key_pem)};
}

tls::Result<InjectorTls> readInjectorTls(const std::string& directory,
                                         std::chrono::sys_seconds now) {
  InjectorTls files;
  for (const auto& [name, field] :
       {std::pair{"ca.crt", &InjectorTls::ca_pem}, std::pair{"tls.crt", &InjectorTls::cert_pem},
        std::pair{"tls.key", &InjectorTls::key_pem}}) {
    auto text = readFile(directory + "/" + name);
    if (!text) {
      return tls::Error{text.error()};
    }
    files.*field = std::move(*text);
  }
  if (std::string problem = injectorTlsProblem(files, now); !problem.empty()) {
    return tls::Error{directory + ": " + problem};
  }
  return files;
}

std::string injectorCertificateProblem(const std::string& ca_pem, const std::string& cert_pem,
                                       std::chrono::sys_seconds at) {
  auto roots = tls::readCertificateChainPem(ca_pem);
  if (!roots) {
    return "ca.crt: " + roots.error();
  }
  auto chain = tls::readCertificateChainPem(cert_pem);
  if (!chain) {
    return "tls.crt: " + chain.error();
  }
  const std::span<const tls::X509Ptr> intermediates(chain->begin() + 1, chain->end());
  auto verified = tls::verifiedChain(*chain->front(), intermediates, *roots, at);
  if (!verified) {
    return "tls.crt does not verify with ca.crt: " + verified.error();
  }
  const std::string_view host = kInjectorHosts.front();
  if (X509_check_host(chain->front().get(), host.data(), host.size(), 0, nullptr) != 1) {
    return "tls.crt does not name " + std::string(host) + ", which the API server dials";
  }
  return {};
}

std::string injectorTlsProblem(const InjectorTls& material, std::chrono::sys_seconds at) {
  auto key = tls::readPrivateKeyPem(material.key_pem);
  if (!key) {
    return "tls.key: " + key.error();
  }
  auto cert = tls::readCertificatePem(material.cert_pem);
  if (!cert) {
    return "tls.crt: " + cert.error();
  }
  if (!tls::certificateMatchesKey(**cert, **key)) {
    return "tls.key is not the key of tls.crt";
  }
  return injectorCertificateProblem(material.ca_pem, material.cert_pem, at);
}

}  // namespace weft::cli
