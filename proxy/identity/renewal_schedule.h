#pragma once

#include <chrono>

#include "common/tls/certificate.h"

namespace weft::proxy::identity {

// Wall-clock time with millisecond resolution: certificate validity is wall-clock time, and 64
// bits of milliseconds hold any notAfter an X.509 certificate can carry (sys_time in
// nanoseconds would overflow at year 2262).
using WallTime = std::chrono::sys_time<std::chrono::milliseconds>;

// When a certificate is renewed, when its failing renewal is worth a warning, and when it
// expires.
struct RenewalSchedule {
  WallTime renew_at;
  WallTime warn_at;
  WallTime expires_at;
};

// The schedule of a certificate received at `received_at`. Its lifetime runs from its notBefore,
// or from `received_at` when that is later (the CA backdates notBefore a little against clock
// skew, which would otherwise eat into short lifetimes), to its notAfter. Renewal is due at
// `renew_at_percent` of the lifetime (clamped to 10..90, the bootstrap's bounds); the warning at
// 80%, or halfway between the renewal point and expiry when that is later, so a failing renewal
// is always reported well before the certificate runs out.
RenewalSchedule renewalSchedule(const tls::CertificateValidity& validity, WallTime received_at,
                                double renew_at_percent);

}  // namespace weft::proxy::identity
