#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"
#include "controlplane/ca/ca_storage.h"

namespace weft::controlplane::ca {

// What the CA signs with and hands out, checked once when loaded and immutable afterwards: a
// reload builds a new one and swaps the pointer, so a request in flight keeps signing with the
// material it started with.
struct SigningMaterial {
  tls::X509Ptr signing_cert;
  tls::EvpPkeyPtr signing_key;
  // The certificates a leaf's chain carries after the leaf: the signing certificate and the
  // intermediates above it, up to but not including the root; empty when the signing
  // certificate is the root. PEM, one certificate per entry.
  std::vector<std::string> chain_pem;
  // The roots to trust, signing root first, then the extra roots; one PEM text.
  std::string trust_bundle_pem;
  size_t trust_bundle_size = 0;
  // The earliest notAfter from the signing certificate up to the root: no leaf may outlive it.
  std::chrono::sys_seconds not_after;
  // The signing certificate's own notAfter (for the expiry metric).
  std::chrono::sys_seconds signing_cert_not_after;
  // "CN=..." of the signing certificate and of the root, for logs.
  std::string signing_subject;
  std::string root_subject;
};

using SigningMaterialPtr = std::shared_ptr<const SigningMaterial>;

// Parses and checks a CA's files: the key matches the signing certificate; the key follows the
// key policy; the signing certificate is a CA allowed to sign certificates (basicConstraints
// CA:TRUE, keyCertSign if keyUsage is present); it chains through cert-chain.pem to the root
// and the whole path is valid at `now`; each extra root is a self-signed CA certificate.
// Copies of the signing certificate or the root inside cert-chain.pem are ignored, so a chain
// file that lists the whole path (as Istio's plug-in CA layout does) works as well.
tls::Result<SigningMaterialPtr> buildSigningMaterial(const CaFiles& files,
                                                     std::chrono::sys_seconds now);

}  // namespace weft::controlplane::ca
