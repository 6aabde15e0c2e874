#include "proxy/identity/certificate_rotation.h"

#include <algorithm>

namespace weft::proxy::identity {

std::string_view identityPhaseName(IdentityPhase phase) {
  switch (phase) {
    case IdentityPhase::kAwaitingFirst:
      return "AWAITING_FIRST";
    case IdentityPhase::kValid:
      return "VALID";
    case IdentityPhase::kRenewing:
      return "RENEWING";
    case IdentityPhase::kExpiring:
      return "EXPIRING";
    case IdentityPhase::kExpired:
      return "EXPIRED";
  }
  return "UNKNOWN";
}

CertificateRotation::CertificateRotation(double renew_at_percent, ExponentialBackoff backoff)
    : renew_at_percent_(renew_at_percent), backoff_(std::move(backoff)) {}

CertificateRotation::Change CertificateRotation::advance(WallTime now) {
  if (!schedule_ || phase_ == IdentityPhase::kExpired) {
    return Change::kNone;
  }
  if (now >= schedule_->expires_at) {
    phase_ = IdentityPhase::kExpired;
    return Change::kExpired;
  }
  Change change = Change::kNone;
  if (phase_ == IdentityPhase::kValid && now >= schedule_->renew_at) {
    phase_ = IdentityPhase::kRenewing;
    // A renewal point the certificate already had when it arrived was deferred to a retry time
    // by onIssued(); otherwise the renewal goes out now.
    next_attempt_ = std::max(next_attempt_, schedule_->renew_at);
    change = Change::kRenewalDue;
  }
  if (phase_ == IdentityPhase::kRenewing && now >= schedule_->warn_at) {
    phase_ = IdentityPhase::kExpiring;
    change = Change::kExpiring;
  }
  return change;
}

bool CertificateRotation::requestDue(WallTime now) const {
  return phase_ != IdentityPhase::kValid && now >= next_attempt_;
}

void CertificateRotation::onIssued(const tls::CertificateValidity& validity, WallTime now) {
  schedule_ = renewalSchedule(validity, now, renew_at_percent_);
  phase_ = IdentityPhase::kValid;
  failures_ = 0;
  next_attempt_ = {};
  if (schedule_->renew_at <= now) {
    // Due for renewal on arrival (the CA granted almost nothing, or its own certificate runs
    // out): renew at the backoff's pace rather than in a tight loop.
    next_attempt_ = now + backoff_.next();
    return;
  }
  backoff_.reset();
}

std::chrono::milliseconds CertificateRotation::onFailed(WallTime now) {
  ++failures_;
  const std::chrono::milliseconds delay = backoff_.next();
  next_attempt_ = now + delay;
  return delay;
}

WallTime CertificateRotation::nextEvent() const {
  if (phase_ == IdentityPhase::kValid) {
    return schedule_->renew_at;
  }
  WallTime next = next_attempt_;
  if (phase_ == IdentityPhase::kRenewing) {
    next = std::min(next, schedule_->warn_at);
  }
  if (schedule_ && phase_ != IdentityPhase::kExpired) {
    next = std::min(next, schedule_->expires_at);
  }
  return next;
}

}  // namespace weft::proxy::identity
