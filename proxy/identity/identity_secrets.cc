#include "proxy/identity/identity_secrets.h"

#include <set>
#include <string>

#include "proxy/tls/tls_contexts.h"

namespace weft::proxy::identity {

std::vector<weft::v1::Secret> identitySecrets(const WorkloadCertificate& certificate,
                                              bool with_identity) {
  std::vector<weft::v1::Secret> secrets;
  if (with_identity) {
    weft::v1::Secret identity;
    identity.set_name(std::string(kIdentitySecret));
    identity.mutable_tls_certificate()->set_certificate_chain(certificate.certificate_chain_pem);
    identity.mutable_tls_certificate()->set_private_key(certificate.private_key_pem);
    secrets.push_back(std::move(identity));
  }
  weft::v1::Secret bundle;
  bundle.set_name(std::string(kTrustBundleSecret));
  bundle.mutable_validation_context()->set_trusted_ca(certificate.trust_bundle_pem);
  bundle.mutable_validation_context()->set_trust_domain(certificate.trust_domain);
  secrets.push_back(std::move(bundle));
  return secrets;
}

void addMissingSecrets(const std::vector<weft::v1::Secret>& secrets, weft::v1::Bootstrap& config) {
  auto* statics = config.mutable_static_resources();
  std::set<std::string> present;
  for (const auto& secret : statics->secrets()) {
    present.insert(secret.name());
  }
  for (const auto& secret : secrets) {
    if (present.insert(secret.name()).second) {
      *statics->add_secrets() = secret;
    }
  }
}

}  // namespace weft::proxy::identity
