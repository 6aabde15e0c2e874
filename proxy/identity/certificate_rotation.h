#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/backoff/exponential_backoff.h"
#include "proxy/identity/renewal_schedule.h"

namespace weft::proxy::identity {

// Where the workload certificate stands.
enum class IdentityPhase : uint8_t {
  kAwaitingFirst,  // no certificate yet: requesting, retrying with backoff
  kValid,          // a certificate, before its renewal point
  kRenewing,       // past the renewal point: requesting, retrying with backoff
  kExpiring,       // renewal keeps failing past the warning point
  kExpired,        // the certificate ran out and is withdrawn; still requesting
};

// "AWAITING_FIRST", "VALID", "RENEWING", "EXPIRING", "EXPIRED".
std::string_view identityPhaseName(IdentityPhase phase);

// The rotation of the workload certificate as a state machine over wall-clock time, without
// timers or I/O, so every transition can be tested with a made-up clock. The driver
// (WorkloadCertificateManager) asks advance() what the time now implies, sends a request when
// requestDue(), reports the outcome with onIssued() or onFailed(), and sleeps until
// nextEvent().
class CertificateRotation {
 public:
  // What advance() found.
  enum class Change : uint8_t {
    kNone,
    kRenewalDue,  // kValid -> kRenewing
    kExpiring,    // -> kExpiring: time to warn
    kExpired,     // -> kExpired: time to withdraw the certificate
  };

  CertificateRotation(double renew_at_percent, ExponentialBackoff backoff);

  // Moves to the phase `now` implies. A jump over several points (a suspended machine) reports
  // the most severe.
  Change advance(WallTime now);

  // Whether a request should go out now (the caller knows whether one is in flight).
  bool requestDue(WallTime now) const;

  // A certificate with `validity` was received at `now`: kValid, and the failure count and
  // backoff start over.
  void onIssued(const tls::CertificateValidity& validity, WallTime now);

  // A request failed at `now`: the next waits for the backoff's next delay, which is returned.
  std::chrono::milliseconds onFailed(WallTime now);

  // The earliest time at which advance() or requestDue() answers differently.
  WallTime nextEvent() const;

  IdentityPhase phase() const { return phase_; }
  // The certificate is in place (possibly renewing, not expired).
  bool hasValidCertificate() const {
    return phase_ == IdentityPhase::kValid || phase_ == IdentityPhase::kRenewing ||
           phase_ == IdentityPhase::kExpiring;
  }
  const std::optional<RenewalSchedule>& schedule() const { return schedule_; }
  // When the next request goes out: the renewal point, or the retry after a failure.
  WallTime nextRequest() const {
    return phase_ == IdentityPhase::kValid ? schedule_->renew_at : next_attempt_;
  }
  // Failures since the last certificate (or the start).
  uint64_t consecutiveFailures() const { return failures_; }

 private:
  double renew_at_percent_;
  ExponentialBackoff backoff_;
  IdentityPhase phase_ = IdentityPhase::kAwaitingFirst;
  std::optional<RenewalSchedule> schedule_;
  // Outside kValid: no request before this.
  WallTime next_attempt_{};
  uint64_t failures_ = 0;
};

}  // namespace weft::proxy::identity
