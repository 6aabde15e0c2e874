#include "proxy/identity/renewal_schedule.h"

#include <algorithm>

namespace weft::proxy::identity {
namespace {

constexpr double kWarnAtPercent = 80;

WallTime percentOf(WallTime start, std::chrono::milliseconds lifetime, double percent) {
  return start + std::chrono::milliseconds(
                     static_cast<int64_t>(static_cast<double>(lifetime.count()) * percent / 100.0));
}

}  // namespace

RenewalSchedule renewalSchedule(const tls::CertificateValidity& validity, WallTime received_at,
                                double renew_at_percent) {
  const WallTime expires_at =
      std::chrono::time_point_cast<std::chrono::milliseconds>(validity.not_after);
  const WallTime start = std::min(
      expires_at, std::max(received_at, std::chrono::time_point_cast<std::chrono::milliseconds>(
                                            validity.not_before)));
  const std::chrono::milliseconds lifetime = expires_at - start;
  const double renew_percent = std::clamp(renew_at_percent, 10.0, 90.0);
  const double warn_percent = std::max(kWarnAtPercent, (renew_percent + 100.0) / 2.0);
  return {percentOf(start, lifetime, renew_percent), percentOf(start, lifetime, warn_percent),
          expires_at};
}

}  // namespace weft::proxy::identity
