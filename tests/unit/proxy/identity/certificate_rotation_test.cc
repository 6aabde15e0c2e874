#include "proxy/identity/certificate_rotation.h"

#include <gtest/gtest.h>

namespace weft::proxy::identity {
namespace {

using Change = CertificateRotation::Change;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr WallTime kStart{milliseconds(1'800'000'000'000)};

std::chrono::sys_seconds secondsOf(WallTime time) {
  return std::chrono::floor<seconds>(time);
}

// A 1000 s certificate received at `now`.
tls::CertificateValidity thousandSeconds(WallTime now) {
  return {secondsOf(now), secondsOf(now) + seconds(1000)};
}

class CertificateRotationTest : public ::testing::Test {
 protected:
  static BackoffOptions backoffOptions() {
    BackoffOptions options;
    options.base = seconds(1);
    options.max = seconds(8);
    return options;
  }

  CertificateRotation rotation_{50, ExponentialBackoff(backoffOptions(), /*seed=*/7)};
};

TEST_F(CertificateRotationTest, RequestsAtOnceAtStart) {
  EXPECT_EQ(rotation_.phase(), IdentityPhase::kAwaitingFirst);
  EXPECT_EQ(rotation_.advance(kStart), Change::kNone);
  EXPECT_TRUE(rotation_.requestDue(kStart));
  EXPECT_FALSE(rotation_.hasValidCertificate());
}

TEST_F(CertificateRotationTest, AFailedFirstRequestIsRetriedAfterTheBackoff) {
  const milliseconds delay = rotation_.onFailed(kStart);
  EXPECT_GE(delay, milliseconds(500));
  EXPECT_LE(delay, seconds(1));
  EXPECT_EQ(rotation_.phase(), IdentityPhase::kAwaitingFirst);
  EXPECT_FALSE(rotation_.requestDue(kStart + delay - milliseconds(1)));
  EXPECT_TRUE(rotation_.requestDue(kStart + delay));
  EXPECT_EQ(rotation_.nextEvent(), kStart + delay);
  EXPECT_EQ(rotation_.consecutiveFailures(), 1u);
}

TEST_F(CertificateRotationTest, RetryDelaysGrowUpToTheMaximum) {
  WallTime now = kStart;
  milliseconds last{0};
  for (int i = 0; i < 10; ++i) {
    last = rotation_.onFailed(now);
    now += last;
  }
  EXPECT_GE(last, seconds(4));
  EXPECT_LE(last, seconds(8));
  EXPECT_EQ(rotation_.consecutiveFailures(), 10u);
}

TEST_F(CertificateRotationTest, ACertificateIsRenewedAtHalfItsLifetime) {
  rotation_.onFailed(kStart);
  rotation_.onIssued(thousandSeconds(kStart), kStart);
  EXPECT_EQ(rotation_.phase(), IdentityPhase::kValid);
  EXPECT_TRUE(rotation_.hasValidCertificate());
  EXPECT_EQ(rotation_.consecutiveFailures(), 0u);
  EXPECT_FALSE(rotation_.requestDue(kStart));
  EXPECT_EQ(rotation_.nextEvent(), kStart + seconds(500));
  EXPECT_EQ(rotation_.nextRequest(), kStart + seconds(500));

  EXPECT_EQ(rotation_.advance(kStart + seconds(499)), Change::kNone);
  EXPECT_FALSE(rotation_.requestDue(kStart + seconds(499)));
  EXPECT_EQ(rotation_.advance(kStart + seconds(500)), Change::kRenewalDue);
  EXPECT_EQ(rotation_.phase(), IdentityPhase::kRenewing);
  EXPECT_TRUE(rotation_.requestDue(kStart + seconds(500)));
  EXPECT_TRUE(rotation_.hasValidCertificate());
}

TEST_F(CertificateRotationTest, ARenewedCertificateStartsANewSchedule) {
  rotation_.onIssued(thousandSeconds(kStart), kStart);
  const WallTime renewal = kStart + seconds(500);
  ASSERT_EQ(rotation_.advance(renewal), Change::kRenewalDue);
  rotation_.onIssued(thousandSeconds(renewal), renewal);
  EXPECT_EQ(rotation_.phase(), IdentityPhase::kValid);
  EXPECT_EQ(rotation_.nextEvent(), renewal + seconds(500));
}

TEST_F(CertificateRotationTest, FailingRenewalRetriesThenWarnsThenExpires) {
  rotation_.onIssued(thousandSeconds(kStart), kStart);
  WallTime now = kStart + seconds(500);
  ASSERT_EQ(rotation_.advance(now), Change::kRenewalDue);
  // Failures before the warning point: retries, still RENEWING, still valid.
  milliseconds delay = rotation_.onFailed(now);
  EXPECT_EQ(rotation_.nextEvent(), now + delay);
  now += delay;
  EXPECT_EQ(rotation_.advance(now), Change::kNone);
  EXPECT_TRUE(rotation_.requestDue(now));
  EXPECT_EQ(rotation_.phase(), IdentityPhase::kRenewing);

  // The warning point (80%) comes as an event of its own even while retries are far apart.
  for (int i = 0; i < 10; ++i) {
    rotation_.onFailed(now);
  }
  EXPECT_LE(rotation_.nextEvent(), kStart + seconds(800));
  EXPECT_EQ(rotation_.advance(kStart + seconds(800)), Change::kExpiring);
  EXPECT_EQ(rotation_.phase(), IdentityPhase::kExpiring);
  EXPECT_TRUE(rotation_.hasValidCertificate());
  EXPECT_EQ(rotation_.advance(kStart + seconds(801)), Change::kNone);

  // Expiry: withdrawn, not valid, still requesting.
  EXPECT_LE(rotation_.nextEvent(), kStart + seconds(1000));
  EXPECT_EQ(rotation_.advance(kStart + seconds(1000)), Change::kExpired);
  EXPECT_EQ(rotation_.phase(), IdentityPhase::kExpired);
  EXPECT_FALSE(rotation_.hasValidCertificate());
  EXPECT_EQ(rotation_.advance(kStart + seconds(2000)), Change::kNone);
  EXPECT_TRUE(rotation_.requestDue(kStart + seconds(2000)));

  // A new certificate after expiry puts it back.
  rotation_.onIssued(thousandSeconds(kStart + seconds(2000)), kStart + seconds(2000));
  EXPECT_EQ(rotation_.phase(), IdentityPhase::kValid);
  EXPECT_TRUE(rotation_.hasValidCertificate());
}

TEST_F(CertificateRotationTest, AJumpPastSeveralPointsReportsTheMostSevere) {
  rotation_.onIssued(thousandSeconds(kStart), kStart);
  EXPECT_EQ(rotation_.advance(kStart + seconds(900)), Change::kExpiring);
  EXPECT_TRUE(rotation_.requestDue(kStart + seconds(900)));

  CertificateRotation suspended(50, ExponentialBackoff(BackoffOptions{}, 1));
  suspended.onIssued(thousandSeconds(kStart), kStart);
  EXPECT_EQ(suspended.advance(kStart + seconds(5000)), Change::kExpired);
}

TEST_F(CertificateRotationTest, ACertificateWithNoLifetimeLeftIsNotRenewedInALoop) {
  // The CA granted nothing usable (its own certificate runs out now): the next request waits for
  // the backoff instead of going out at once, again and again.
  rotation_.onIssued({secondsOf(kStart) - seconds(60), secondsOf(kStart)}, kStart);
  EXPECT_EQ(rotation_.advance(kStart), Change::kExpired);
  EXPECT_FALSE(rotation_.requestDue(kStart));
  EXPECT_GT(rotation_.nextEvent(), kStart);
  EXPECT_TRUE(rotation_.requestDue(rotation_.nextEvent()));
}

TEST(IdentityPhaseTest, Names) {
  EXPECT_EQ(identityPhaseName(IdentityPhase::kAwaitingFirst), "AWAITING_FIRST");
  EXPECT_EQ(identityPhaseName(IdentityPhase::kValid), "VALID");
  EXPECT_EQ(identityPhaseName(IdentityPhase::kRenewing), "RENEWING");
  EXPECT_EQ(identityPhaseName(IdentityPhase::kExpiring), "EXPIRING");
  EXPECT_EQ(identityPhaseName(IdentityPhase::kExpired), "EXPIRED");
}

}  // namespace
}  // namespace weft::proxy::identity
