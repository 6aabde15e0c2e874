// WorkloadCertificateManager with a scripted signer and a made-up clock: the io_context only
// runs handlers that are ready (poll), so no test waits for real time; the clock is moved and
// evaluate() called, as the manager's timer would.
#include "proxy/identity/workload_certificate_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <deque>

#include "common/tls/csr.h"
#include "common/tls/pem.h"
#include "test_authority.h"

namespace weft::proxy::identity {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::TestAuthority;

const std::string kId = "spiffe://cluster.local/ns/default/sa/reviews";

// Answers each request with the next scripted outcome: a certificate of the given lifetime from
// the test authority, or a failure status.
class ScriptedSigner final : public CertificateSigner {
 public:
  struct Outcome {
    xds::GrpcStatus status;
    seconds lifetime{0};
  };

  ScriptedSigner(boost::asio::io_context& io_context, const TestAuthority& authority,
                 const std::function<WallTime()>& clock)
      : io_context_(io_context), authority_(authority), clock_(clock) {}

  void sign(const weft::v1::CreateCertificateRequest& request, Done done) override {
    ++requests;
    last_request = request;
    ASSERT_FALSE(outcomes.empty()) << "an unscripted request";
    Outcome outcome = outcomes.front();
    outcomes.pop_front();
    weft::v1::CreateCertificateResponse response;
    if (outcome.status.code == 0) {
      const auto now = std::chrono::floor<seconds>(clock_());
      response = authority_.sign(request.csr(), kId, now - seconds(60), now + outcome.lifetime);
    }
    boost::asio::post(io_context_, [done = std::move(done), outcome, response] {
      done(outcome.status, response);
    });
  }
  void cancel() override {}
  std::string target() const override { return "ca.test:15010"; }

  std::deque<Outcome> outcomes;
  int requests = 0;
  weft::v1::CreateCertificateRequest last_request;

 private:
  boost::asio::io_context& io_context_;
  const TestAuthority& authority_;
  std::function<WallTime()> clock_;
};

class WorkloadCertificateManagerTest : public ::testing::Test {
 protected:
  WorkloadCertificateManagerTest() {
    CaClientConfig config;
    config.renew_at_percent = 50;
    weft::v1::Node node;
    node.set_id("reviews-v1-abc.default");
    node.set_namespace_("default");
    node.set_service_account("reviews");
    auto clock = [this] { return now_; };
    auto signer = std::make_unique<ScriptedSigner>(io_, authority_, clock);
    signer_ = signer.get();
    BackoffOptions backoff;
    backoff.base = seconds(1);
    backoff.max = seconds(4);
    manager_ = std::make_unique<WorkloadCertificateManager>(
        io_, config, node, std::move(signer),
        [this](const std::vector<weft::v1::Secret>& secrets) { installed_.push_back(secrets); },
        clock, ExponentialBackoff(backoff, /*seed=*/3));
  }

  ~WorkloadCertificateManagerTest() override { manager_->stop(); }

  // Runs what is ready now (answers posted by the signer), without waiting for timers.
  void settle() {
    io_.restart();
    io_.poll();
  }

  // Moves the clock and lets the manager act, as its timer would.
  void advanceTo(WallTime time) {
    now_ = time;
    manager_->evaluate();
    settle();
  }

  bool holdsIdentity() const {
    if (installed_.empty()) {
      return false;
    }
    for (const auto& secret : installed_.back()) {
      if (secret.name() == "identity") {
        return true;
      }
    }
    return false;
  }

  boost::asio::io_context io_;
  TestAuthority authority_;
  WallTime now_{milliseconds(
      std::chrono::floor<seconds>(std::chrono::system_clock::now()).time_since_epoch())};
  ScriptedSigner* signer_ = nullptr;
  std::unique_ptr<WorkloadCertificateManager> manager_;
  std::vector<std::vector<weft::v1::Secret>> installed_;
};

TEST_F(WorkloadCertificateManagerTest, InstallsTheFirstCertificateAndBecomesReady) {
  signer_->outcomes.push_back({{0, ""}, seconds(1000)});
  EXPECT_FALSE(manager_->hasValidCertificate());
  EXPECT_THAT(manager_->notReadyReason(), HasSubstr("waiting for the workload certificate"));
  manager_->start();
  settle();
  EXPECT_EQ(signer_->requests, 1);
  EXPECT_TRUE(manager_->hasValidCertificate());
  ASSERT_EQ(installed_.size(), 1u);
  EXPECT_TRUE(holdsIdentity());
  EXPECT_EQ(installed_.back().size(), 2u);  // identity and trust-bundle

  const admin::CertificateStatus status = manager_->status();
  EXPECT_EQ(status.state, "VALID");
  EXPECT_EQ(status.ca, "ca.test:15010");
  ASSERT_TRUE(status.certificate);
  EXPECT_EQ(status.certificate->spiffe_id, kId);
  EXPECT_EQ(status.issued, 1u);
  EXPECT_EQ(status.next_request, now_ + seconds(500));
  // The admin rendering carries no key material.
  const std::string json = admin::renderCertificateStatusJson(status);
  EXPECT_THAT(json, HasSubstr(kId));
  EXPECT_EQ(json.find("PRIVATE"), std::string::npos);
}

TEST_F(WorkloadCertificateManagerTest, RetriesAFailedFirstRequestAfterTheBackoff) {
  signer_->outcomes.push_back({{16, "no credential"}, {}});
  signer_->outcomes.push_back({{14, "CA not ready"}, {}});
  signer_->outcomes.push_back({{0, ""}, seconds(1000)});
  manager_->start();
  settle();
  EXPECT_EQ(signer_->requests, 1);
  EXPECT_FALSE(manager_->hasValidCertificate());
  EXPECT_THAT(manager_->notReadyReason(), HasSubstr("UNAUTHENTICATED: no credential"));
  EXPECT_EQ(manager_->status().last_error, "UNAUTHENTICATED: no credential");
  EXPECT_EQ(manager_->status().consecutive_failures, 1u);

  // Not before the backoff (at least half the 1 s base).
  advanceTo(now_ + milliseconds(400));
  EXPECT_EQ(signer_->requests, 1);
  advanceTo(*manager_->status().next_request);
  EXPECT_EQ(signer_->requests, 2);
  EXPECT_EQ(manager_->status().consecutive_failures, 2u);
  advanceTo(*manager_->status().next_request);
  EXPECT_EQ(signer_->requests, 3);
  EXPECT_TRUE(manager_->hasValidCertificate());
  EXPECT_EQ(manager_->status().consecutive_failures, 0u);
}

TEST_F(WorkloadCertificateManagerTest, RenewsAtHalfTheLifetimeWithANewKeyAndSerial) {
  signer_->outcomes.push_back({{0, ""}, seconds(1000)});
  signer_->outcomes.push_back({{0, ""}, seconds(1000)});
  manager_->start();
  settle();
  const WallTime issued = now_;
  const std::string first_serial = manager_->status().certificate->serial;
  const std::string first_csr = signer_->last_request.csr();

  advanceTo(issued + seconds(499));
  EXPECT_EQ(signer_->requests, 1);
  advanceTo(issued + seconds(500));
  EXPECT_EQ(signer_->requests, 2);
  EXPECT_NE(signer_->last_request.csr(), first_csr);
  EXPECT_EQ(installed_.size(), 2u);
  EXPECT_NE(manager_->status().certificate->serial, first_serial);
  EXPECT_EQ(manager_->status().state, "VALID");
  EXPECT_EQ(manager_->status().next_request, issued + seconds(1000));
}

TEST_F(WorkloadCertificateManagerTest, FailingRenewalKeepsServingThenWithdrawsAtExpiry) {
  signer_->outcomes.push_back({{0, ""}, seconds(1000)});
  manager_->start();
  settle();
  const WallTime issued = now_;
  for (int i = 0; i < 1000; ++i) {
    signer_->outcomes.push_back({{14, "connection refused"}, {}});
  }
  advanceTo(issued + seconds(500));
  EXPECT_EQ(manager_->status().state, "RENEWING");
  EXPECT_TRUE(manager_->hasValidCertificate());
  EXPECT_EQ(installed_.size(), 1u);  // nothing withdrawn

  // Retries while the clock runs to the warning point and on to expiry, one wake-up at a time.
  while (now_ < issued + seconds(799)) {
    advanceTo(std::min(*manager_->status().next_request, issued + seconds(799)));
  }
  EXPECT_EQ(manager_->status().state, "RENEWING");
  advanceTo(issued + seconds(800));
  EXPECT_EQ(manager_->status().state, "EXPIRING");
  EXPECT_TRUE(manager_->hasValidCertificate());
  EXPECT_TRUE(holdsIdentity());

  advanceTo(issued + seconds(1000));
  EXPECT_EQ(manager_->status().state, "EXPIRED");
  EXPECT_FALSE(manager_->hasValidCertificate());
  EXPECT_THAT(manager_->notReadyReason(), HasSubstr("expired"));
  ASSERT_EQ(installed_.size(), 2u);
  EXPECT_FALSE(holdsIdentity());  // withdrawn: TLS contexts become unavailable
  ASSERT_EQ(installed_.back().size(), 1u);
  EXPECT_EQ(installed_.back().front().name(), "trust-bundle");

  // Still requesting; a certificate brings it back.
  signer_->outcomes.clear();
  signer_->outcomes.push_back({{0, ""}, seconds(1000)});
  advanceTo(now_ + seconds(60));
  EXPECT_EQ(manager_->status().state, "VALID");
  EXPECT_TRUE(manager_->hasValidCertificate());
  EXPECT_TRUE(holdsIdentity());
}

TEST_F(WorkloadCertificateManagerTest, RefusesAnAnswerThatIsNotForItsKey) {
  // A CA answering with garbage: counted as a failure, nothing installed, no crash.
  class GarbageSigner final : public CertificateSigner {
   public:
    explicit GarbageSigner(boost::asio::io_context& io) : io_(io) {}
    void sign(const weft::v1::CreateCertificateRequest&, Done done) override {
      weft::v1::CreateCertificateResponse response;
      response.add_certificate_chain(
          "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
      response.set_trust_bundle("garbage");
      response.mutable_expiry()->set_seconds(1);
      boost::asio::post(io_, [done = std::move(done), response] { done({0, ""}, response); });
    }
    void cancel() override {}
    std::string target() const override { return "garbage:1"; }

   private:
    boost::asio::io_context& io_;
  };
  CaClientConfig config;
  std::vector<std::vector<weft::v1::Secret>> installed;
  WorkloadCertificateManager manager(
      io_, config, weft::v1::Node(), std::make_unique<GarbageSigner>(io_),
      [&](const std::vector<weft::v1::Secret>& secrets) { installed.push_back(secrets); },
      [this] { return now_; }, ExponentialBackoff(BackoffOptions{}, 1));
  manager.start();
  settle();
  EXPECT_TRUE(installed.empty());
  EXPECT_FALSE(manager.hasValidCertificate());
  EXPECT_THAT(manager.status().last_error, HasSubstr("refused the certificate from garbage:1"));
  manager.stop();
}

}  // namespace
}  // namespace weft::proxy::identity
