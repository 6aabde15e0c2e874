#include "proxy/identity/renewal_schedule.h"

#include <gtest/gtest.h>

namespace weft::proxy::identity {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::chrono::sys_seconds kIssued{seconds(1'800'000'000)};

WallTime at(std::chrono::sys_seconds time) {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(time);
}

TEST(RenewalScheduleTest, RenewsAtHalfAndWarnsAtEightyPercentOfTheLifetime) {
  const tls::CertificateValidity validity{kIssued, kIssued + hours(24)};
  const RenewalSchedule schedule = renewalSchedule(validity, at(kIssued), 50);
  EXPECT_EQ(schedule.renew_at, at(kIssued + hours(12)));
  EXPECT_EQ(schedule.warn_at,
            at(kIssued + std::chrono::duration_cast<seconds>(hours(24)) * 8 / 10));
  EXPECT_EQ(schedule.expires_at, at(kIssued + hours(24)));
}

TEST(RenewalScheduleTest, HonoursTheConfiguredPercentage) {
  const tls::CertificateValidity validity{kIssued, kIssued + seconds(1000)};
  EXPECT_EQ(renewalSchedule(validity, at(kIssued), 25).renew_at, at(kIssued + seconds(250)));
  EXPECT_EQ(renewalSchedule(validity, at(kIssued), 75).renew_at, at(kIssued + seconds(750)));
}

TEST(RenewalScheduleTest, WarnsHalfwayToExpiryWhenRenewalIsLate) {
  const tls::CertificateValidity validity{kIssued, kIssued + seconds(1000)};
  const RenewalSchedule schedule = renewalSchedule(validity, at(kIssued), 90);
  EXPECT_EQ(schedule.renew_at, at(kIssued + seconds(900)));
  EXPECT_EQ(schedule.warn_at, at(kIssued + seconds(950)));
  EXPECT_LT(schedule.warn_at, schedule.expires_at);
}

TEST(RenewalScheduleTest, OutOfRangePercentagesAreClampedToTheBootstrapBounds) {
  const tls::CertificateValidity validity{kIssued, kIssued + seconds(1000)};
  EXPECT_EQ(renewalSchedule(validity, at(kIssued), 0).renew_at, at(kIssued + seconds(100)));
  EXPECT_EQ(renewalSchedule(validity, at(kIssued), 100).renew_at, at(kIssued + seconds(900)));
}

TEST(RenewalScheduleTest, TheLifetimeStartsWhenTheCertificateArrivedNotAtABackdatedNotBefore) {
  // The CA backdates notBefore by a minute; a two-minute certificate has two minutes left.
  const tls::CertificateValidity validity{kIssued - minutes(1), kIssued + minutes(2)};
  const RenewalSchedule schedule = renewalSchedule(validity, at(kIssued), 50);
  EXPECT_EQ(schedule.renew_at, at(kIssued + minutes(1)));
}

TEST(RenewalScheduleTest, ANotBeforeInTheFutureStartsTheLifetime) {
  // Our clock is behind the CA's.
  const tls::CertificateValidity validity{kIssued + seconds(10), kIssued + seconds(110)};
  EXPECT_EQ(renewalSchedule(validity, at(kIssued), 50).renew_at, at(kIssued + seconds(60)));
}

TEST(RenewalScheduleTest, ACertificateReceivedAfterItsExpiryIsDueAtOnce) {
  const tls::CertificateValidity validity{kIssued - hours(2), kIssued - hours(1)};
  const RenewalSchedule schedule = renewalSchedule(validity, at(kIssued), 50);
  EXPECT_EQ(schedule.renew_at, at(kIssued - hours(1)));
  EXPECT_EQ(schedule.expires_at, at(kIssued - hours(1)));
}

TEST(RenewalScheduleTest, FarFutureExpiryDoesNotOverflow) {
  // RFC 5280's "no expiry": 9999-12-31.
  const std::chrono::sys_seconds forever{seconds(253'402'300'799)};
  const tls::CertificateValidity validity{kIssued, forever};
  const RenewalSchedule schedule = renewalSchedule(validity, at(kIssued), 50);
  EXPECT_GT(schedule.renew_at, at(kIssued));
  EXPECT_LT(schedule.renew_at, schedule.warn_at);
  EXPECT_LT(schedule.warn_at, schedule.expires_at);
}

}  // namespace
}  // namespace weft::proxy::identity
