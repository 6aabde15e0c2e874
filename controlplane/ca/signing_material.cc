#include "controlplane/ca/signing_material.h"

#include <openssl/x509v3.h>

#include <algorithm>

#include "common/tls/certificate.h"
#include "common/tls/pem.h"
#include "controlplane/ca/key_policy.h"

namespace weft::controlplane::ca {

namespace {

using tls::Error;
using tls::Result;
using tls::X509Ptr;

std::string subjectText(const X509& cert) {
  char buffer[512] = {};
  X509_NAME_oneline(X509_get_subject_name(&cert), buffer, sizeof(buffer) - 1);
  return buffer;
}

bool sameCertificate(const X509& a, const X509& b) {
  return X509_cmp(&a, &b) == 0;
}

// A certificate that may issue certificates: basicConstraints CA:TRUE and, when keyUsage is
// present, keyCertSign.
std::string checkIssuingCa(const X509& cert, std::string_view file) {
  const uint32_t flags = X509_get_extension_flags(const_cast<X509*>(&cert));
  if ((flags & EXFLAG_INVALID) != 0) {
    return std::string(file) + ": certificate has invalid or duplicate extensions";
  }
  if ((flags & EXFLAG_CA) == 0) {
    return std::string(file) + ": " + subjectText(cert) + " is not a CA certificate " +
           "(basicConstraints CA:TRUE is missing)";
  }
  if ((flags & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(const_cast<X509*>(&cert)) & KU_KEY_CERT_SIGN) == 0) {
    return std::string(file) + ": " + subjectText(cert) +
           " may not sign certificates (keyUsage lacks keyCertSign)";
  }
  return {};
}

bool selfSigned(const X509& cert) {
  return (X509_get_extension_flags(const_cast<X509*>(&cert)) & EXFLAG_SS) != 0;
}

Result<X509Ptr> readOneCertificate(const std::string& pem, std::string_view file) {
  auto certs = tls::readCertificateChainPem(pem);
  if (!certs) {
    return Error{std::string(file) + ": " + certs.error()};
  }
  if (certs->size() != 1) {
    return Error{std::string(file) + ": expected one certificate, found " +
                 std::to_string(certs->size())};
  }
  return std::move(certs->front());
}

}  // namespace

Result<SigningMaterialPtr> buildSigningMaterial(const CaFiles& files,
                                                std::chrono::sys_seconds now) {
  auto material = std::make_shared<SigningMaterial>();

  auto signing_cert = readOneCertificate(files.signing_cert, "ca-cert.pem");
  if (!signing_cert) {
    return Error{signing_cert.error()};
  }
  material->signing_cert = std::move(*signing_cert);
  const X509& cert = *material->signing_cert;
  auto key = tls::readPrivateKeyPem(files.signing_key);
  if (!key) {
    return Error{"ca-key.pem: " + key.error()};
  }
  material->signing_key = std::move(*key);
  if (!tls::certificateMatchesKey(cert, *material->signing_key)) {
    return Error{"ca-key.pem is not the key of the certificate in ca-cert.pem"};
  }
  if (auto violation = keyPolicyViolation(*material->signing_key)) {
    return Error{"ca-key.pem: unsupported key " + *violation};
  }
  if (std::string error = checkIssuingCa(cert, "ca-cert.pem"); !error.empty()) {
    return Error{error};
  }

  // The root: root-cert.pem, or the signing certificate itself.
  X509Ptr root;
  if (files.root_cert.empty()) {
    if (!selfSigned(cert)) {
      return Error{"ca-cert.pem (" + subjectText(cert) +
                   ") is not self-signed: put the root it chains to in root-cert.pem"};
    }
    X509_up_ref(material->signing_cert.get());
    root.reset(material->signing_cert.get());
  } else {
    auto read = readOneCertificate(files.root_cert, "root-cert.pem");
    if (!read) {
      return Error{read.error()};
    }
    root = std::move(*read);
    if (!selfSigned(*root)) {
      return Error{"root-cert.pem (" + subjectText(*root) + ") is not a self-signed root"};
    }
    if (std::string error = checkIssuingCa(*root, "root-cert.pem"); !error.empty()) {
      return Error{error};
    }
  }

  std::vector<X509Ptr> intermediates;
  if (!files.cert_chain.empty()) {
    auto chain = tls::readCertificateChainPem(files.cert_chain);
    if (!chain) {
      return Error{"cert-chain.pem: " + chain.error()};
    }
    for (X509Ptr& entry : *chain) {
      if (!sameCertificate(*entry, cert) && !sameCertificate(*entry, *root)) {
        intermediates.push_back(std::move(entry));
      }
    }
  }

  const X509Ptr roots[] = {std::move(root)};
  auto path = tls::verifiedChain(cert, intermediates, roots, now);
  if (!path) {
    return Error{"ca-cert.pem does not chain to the root: " + path.error()};
  }
  material->not_after = std::chrono::sys_seconds::max();
  for (const X509Ptr& link : *path) {
    auto validity = tls::certificateValidity(*link);
    if (!validity) {
      return Error{"CA certificate " + subjectText(*link) + ": " + validity.error()};
    }
    material->not_after = std::min(material->not_after, validity->not_after);
    if (link.get() == path->front().get()) {
      material->signing_cert_not_after = validity->not_after;
    }
  }
  // The path is signing certificate, intermediates, root: the response chain drops the root.
  for (size_t i = 0; i + 1 < path->size(); ++i) {
    auto pem = tls::writeCertificatePem(*(*path)[i]);
    if (!pem) {
      return Error{pem.error()};
    }
    material->chain_pem.push_back(std::move(*pem));
  }

  std::vector<X509Ptr> bundle;
  X509_up_ref(roots[0].get());
  bundle.emplace_back(roots[0].get());
  if (!files.extra_roots.empty()) {
    auto extra = tls::readCertificateChainPem(files.extra_roots);
    if (!extra) {
      return Error{"extra-roots.pem: " + extra.error()};
    }
    for (X509Ptr& candidate : *extra) {
      if (!selfSigned(*candidate)) {
        return Error{"extra-roots.pem: " + subjectText(*candidate) + " is not a self-signed root"};
      }
      if (std::string error = checkIssuingCa(*candidate, "extra-roots.pem"); !error.empty()) {
        return Error{error};
      }
      const bool known = std::any_of(bundle.begin(), bundle.end(), [&](const X509Ptr& present) {
        return sameCertificate(*present, *candidate);
      });
      if (!known) {
        bundle.push_back(std::move(candidate));
      }
    }
  }
  auto bundle_pem = tls::writeCertificateChainPem(bundle);
  if (!bundle_pem) {
    return Error{bundle_pem.error()};
  }
  material->trust_bundle_pem = std::move(*bundle_pem);
  material->trust_bundle_size = bundle.size();
  material->signing_subject = subjectText(cert);
  material->root_subject = subjectText(*roots[0]);
  return SigningMaterialPtr(std::move(material));
}

}  // namespace weft::controlplane::ca
