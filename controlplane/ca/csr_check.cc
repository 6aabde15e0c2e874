#include "controlplane/ca/csr_check.h"

#include "common/tls/csr.h"
#include "common/tls/pem.h"
#include "controlplane/ca/key_policy.h"

namespace weft::controlplane::ca {

namespace {

// Text from the request, fit for an error message and a log line: printable ASCII only, and
// short, since a CSR may carry kilobytes in one name.
std::string quoted(std::string_view text) {
  constexpr size_t kMaxShown = 200;
  std::string out = "\"";
  for (char c : text.substr(0, kMaxShown)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  out += text.size() > kMaxShown ? "...\"" : "\"";
  return out;
}

}  // namespace

Decision<tls::EvpPkeyPtr> checkCsr(std::string_view csr_pem, std::string_view spiffe_id) {
  auto csr = tls::readCsrPem(csr_pem);
  if (!csr) {
    return Rejection{RejectReason::kMalformedCsr, "csr: " + csr.error()};
  }
  auto key = tls::verifiedCsrPublicKey(**csr);
  if (!key) {
    return Rejection{RejectReason::kBadCsrSignature, "csr: " + key.error()};
  }
  if (auto violation = keyPolicyViolation(**key)) {
    return Rejection{RejectReason::kUnsupportedKey, "csr: unsupported key " + *violation};
  }
  auto uris = tls::csrUriSans(**csr);
  if (!uris) {
    return Rejection{RejectReason::kMalformedCsr, "csr: " + uris.error()};
  }
  if (uris->size() > 1) {
    return Rejection{RejectReason::kIdentityMismatch,
                     "csr: asks for " + std::to_string(uris->size()) +
                         " URI SANs; a workload certificate has one, the caller's identity " +
                         std::string(spiffe_id)};
  }
  if (uris->size() == 1 && uris->front() != spiffe_id) {
    return Rejection{RejectReason::kIdentityMismatch,
                     "csr: asks for identity " + quoted(uris->front()) + " but the caller is " +
                         std::string(spiffe_id)};
  }
  return std::move(key).value();
}

}  // namespace weft::controlplane::ca
