#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::proxy::admin {

// Every value of CertificateStatus::state, in rotation order (identityPhaseName() of each
// IdentityPhase). /stats/prometheus reports each, 1 for the current state and 0 for the others.
inline constexpr std::array<std::string_view, 5> kCertificateStates = {
    "AWAITING_FIRST", "VALID", "RENEWING", "EXPIRING", "EXPIRED"};

// The workload certificate as /certs shows it: public facts only, never key material.
struct CertificateSummary {
  std::string spiffe_id;
  std::string serial;    // hexadecimal
  std::string key_type;  // "EC P-256", ...
  std::chrono::sys_seconds not_before;
  std::chrono::sys_seconds not_after;
  size_t chain_length = 0;  // leaf and intermediates
};

struct CertificateStatus {
  // One of kCertificateStates.
  std::string state;
  // The CA, "host:port".
  std::string ca;
  // The certificate in use (or, once EXPIRED, the last one); none before the first.
  std::optional<CertificateSummary> certificate;
  // When the next request goes out: the renewal point, or the retry after a failure.
  std::optional<std::chrono::sys_time<std::chrono::milliseconds>> next_request;
  // Whether a request is in flight now.
  bool requesting = false;
  uint64_t issued = 0;                // certificates received since start
  uint64_t consecutive_failures = 0;  // since the last certificate
  std::string last_error;             // empty when none since start
  std::optional<std::chrono::sys_time<std::chrono::milliseconds>> last_error_at;
};

// Pretty JSON:
//   {"state": "VALID", "ca": "127.0.0.1:15010",
//    "certificate": {"spiffe_id": ..., "serial": ..., "not_before": "2026-01-02T03:04:05Z", ...},
//    "next_request": ..., "requesting": false, "issued": 1, "consecutive_failures": 0,
//    "last_error": null, "last_error_at": null}
std::string renderCertificateStatusJson(const CertificateStatus& status);

}  // namespace weft::proxy::admin
