#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/ca/ca_metrics.h"
#include "controlplane/ca/ca_storage.h"
#include "controlplane/ca/rejection.h"
#include "controlplane/ca/signing_material.h"
#include "controlplane/ca/workload_identity.h"

namespace weft::controlplane::ca {

struct CertificateAuthorityOptions {
  // The longest validity granted, and the one given when a request names none.
  std::chrono::seconds max_validity = std::chrono::hours(24);
  // notBefore lies this far in the past, so a peer whose clock is a little behind ours does
  // not reject a certificate fresh from the CA as not yet valid.
  std::chrono::seconds backdate = std::chrono::minutes(1);
  // The time source; tests set a fixed time.
  std::function<std::chrono::system_clock::time_point()> clock = [] {
    return std::chrono::system_clock::now();
  };
};

struct IssueRequest {
  // Who the caller is, from its credential (never from the CSR).
  WorkloadIdentity identity;
  std::string_view csr_pem;
  // Unset: the maximum.
  std::optional<std::chrono::seconds> validity;
};

struct IssuedCertificate {
  std::string spiffe_id;
  // Leaf first, then the intermediates up to (not including) the root; one PEM each.
  std::vector<std::string> chain_pem;
  std::string trust_bundle_pem;
  std::chrono::sys_seconds not_before;
  std::chrono::sys_seconds not_after;
  // Hexadecimal, for the audit log.
  std::string serial;
};

// The mesh certificate authority: holds the signing material (from a CaStorage, or a root it
// generates and stores on first start), and signs X.509-SVIDs for authenticated workloads.
//
// issue() runs on gRPC's threads, concurrently, and only reads: the material and the trust
// domain are swapped whole under a short lock (by reload() and setTrustDomain() on the control
// plane's loop thread), and each call works on the snapshot it took.
class CertificateAuthority {
 public:
  CertificateAuthority(std::unique_ptr<CaStorage> storage, CertificateAuthorityOptions options,
                       std::shared_ptr<CaMetrics> metrics = nullptr);

  // Loads the stored material, or, when nothing is stored, generates an ECDSA P-256 root and
  // stores it first. An error text (empty on success); the CA cannot serve without it.
  std::string start();

  // Reads the storage again (SIGHUP): a new signing certificate, intermediate or extra root
  // takes effect for the next request. On any error the current material stays in use and the
  // error is returned. Never generates a root: files that went missing are an error.
  std::string reload();

  // The trust domain of the SPIFFE ids issued (MeshConfig's trust_domain). Until set, issue()
  // answers kCaNotReady.
  void setTrustDomain(std::string trust_domain);

  // Checks the CSR against the caller's identity and signs (csr_check.h for the rules).
  // Validity: the requested one capped at max_validity, and never past the CA's own expiry.
  Decision<IssuedCertificate> issue(const IssueRequest& request) const;

  // The material in use; null before start() succeeded.
  SigningMaterialPtr material() const;

  const CaStorage& storage() const { return *storage_; }

 private:
  std::string install(const CaFiles& files);

  const std::unique_ptr<CaStorage> storage_;
  const CertificateAuthorityOptions options_;
  const std::shared_ptr<CaMetrics> metrics_;
  mutable std::mutex mutex_;
  SigningMaterialPtr material_;
  std::string trust_domain_;
};

}  // namespace weft::controlplane::ca
