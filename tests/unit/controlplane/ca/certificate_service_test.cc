#include "controlplane/ca/certificate_service.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "common/tls/certificate.h"
#include "controlplane/ca/directory_ca_storage.h"
#include "tests/unit/controlplane/ca/ca_test_support.h"

namespace weft::controlplane::ca {
namespace {

using namespace testing;

// Knows one token per identity; "down" makes it unable to decide.
class FakeAuthenticator final : public CallerAuthenticator {
 public:
  Decision<WorkloadIdentity> authenticate(std::string_view token) override {
    last_token = std::string(token);
    if (down) {
      return Rejection{RejectReason::kCredentialsUnavailable, "token source down"};
    }
    if (token == "reviews-token") {
      return WorkloadIdentity{"default", "reviews"};
    }
    return Rejection{RejectReason::kUnknownToken, "unknown token"};
  }
  std::string last_token;
  bool down = false;
};

double counterValue(prometheus::Registry& registry, const std::string& name,
                    const std::map<std::string, std::string>& labels = {}) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) {
      continue;
    }
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> present;
      for (const auto& label : metric.label) {
        present[label.name] = label.value;
      }
      if (present == labels) {
        return metric.counter.value;
      }
    }
  }
  return -1;
}

class CertificateServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_ = std::make_shared<CaMetrics>(registry_);
    authority_ = std::make_unique<CertificateAuthority>(
        std::make_unique<DirectoryCaStorage>(dir_.path()), CertificateAuthorityOptions{}, metrics_);
    ASSERT_EQ(authority_->start(), "");
    authority_->setTrustDomain("cluster.local");
    service_ = std::make_unique<CertificateService>(*authority_, authenticator_, metrics_);
    key_ = p256Key();
    request_.set_csr(makeCsrPem(key_.get()));
  }

  grpc::Status call(std::string_view authorization, size_t count = 1) {
    response_.Clear();
    return service_->handle(authorization, count, "ipv4:127.0.0.1:1234", request_, response_);
  }

  double rejected(const std::string& reason) {
    return counterValue(registry_, "weft_cp_ca_requests_rejected_total", {{"reason", reason}});
  }

  TempDir dir_;
  prometheus::Registry registry_;
  std::shared_ptr<CaMetrics> metrics_;
  FakeAuthenticator authenticator_;
  std::unique_ptr<CertificateAuthority> authority_;
  std::unique_ptr<CertificateService> service_;
  tls::EvpPkeyPtr key_;
  weft::v1::CreateCertificateRequest request_;
  weft::v1::CreateCertificateResponse response_;
};

TEST_F(CertificateServiceTest, IssuesForAValidBearerToken) {
  grpc::Status status = call("Bearer reviews-token");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(authenticator_.last_token, "reviews-token");
  ASSERT_EQ(response_.certificate_chain_size(), 1);
  tls::X509Ptr leaf = parseCert(response_.certificate_chain(0));
  auto uris = tls::uriSans(*leaf);
  ASSERT_TRUE(uris.ok());
  EXPECT_EQ(*uris, std::vector<std::string>{"spiffe://cluster.local/ns/default/sa/reviews"});
  EXPECT_EQ(response_.trust_bundle(), authority_->material()->trust_bundle_pem);
  auto validity = tls::certificateValidity(*leaf);
  ASSERT_TRUE(validity.ok());
  EXPECT_EQ(response_.expiry().seconds(), validity->not_after.time_since_epoch().count());
  std::vector<tls::X509Ptr> roots = parseCerts(response_.trust_bundle());
  EXPECT_TRUE(tls::verifiedChain(*leaf, {}, roots).ok());
  EXPECT_EQ(counterValue(registry_, "weft_cp_ca_certificates_issued_total"), 1);

  // Scheme in any case, spaces around.
  EXPECT_TRUE(call("  bearer   reviews-token ").ok());
  EXPECT_EQ(authenticator_.last_token, "reviews-token");
}

TEST_F(CertificateServiceTest, CredentialProblemsAreUnauthenticated) {
  EXPECT_EQ(call("", 0).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("Bearer reviews-token", 2).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("Basic cmV2aWV3cw==").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("Bearer ").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("Bearer two words").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(rejected("missing_token"), 5);
  grpc::Status unknown = call("Bearer guessed");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(unknown.error_message(), "unknown token");
  EXPECT_EQ(rejected("unknown_token"), 1);
  EXPECT_EQ(response_.certificate_chain_size(), 0);
  EXPECT_EQ(counterValue(registry_, "weft_cp_ca_certificates_issued_total"), 0);
}

TEST_F(CertificateServiceTest, AuthenticatorOutageIsUnavailable) {
  authenticator_.down = true;
  EXPECT_EQ(call("Bearer reviews-token").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(rejected("credentials_unavailable"), 1);
}

TEST_F(CertificateServiceTest, RequestProblemsGetTheirCodes) {
  request_.set_csr(makeCsrPem(key_.get(), {"spiffe://cluster.local/ns/default/sa/admin"}));
  grpc::Status denied = call("Bearer reviews-token");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(denied.error_message().find("ns/default/sa/admin"), std::string::npos);
  EXPECT_EQ(rejected("identity_mismatch"), 1);

  request_.set_csr("garbage");
  EXPECT_EQ(call("Bearer reviews-token").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rejected("malformed_csr"), 1);

  tls::EvpPkeyPtr weak = makeKey("RSA", "1024");
  request_.set_csr(makeCsrPem(weak.get()));
  EXPECT_EQ(call("Bearer reviews-token").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rejected("unsupported_key"), 1);

  // The rules of ca.proto: a CSR is required; validity at least 60s.
  request_.clear_csr();
  grpc::Status missing = call("Bearer reviews-token");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(missing.error_message().find("csr"), std::string::npos) << missing.error_message();
  request_.set_csr(makeCsrPem(key_.get()));
  request_.mutable_validity()->set_seconds(30);
  EXPECT_EQ(call("Bearer reviews-token").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rejected("invalid_request"), 2);

  // Authentication comes first: a bad request from an unknown caller is UNAUTHENTICATED.
  EXPECT_EQ(call("Bearer guessed").error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(CertificateServiceTest, RequestedValidityIsPassedOn) {
  request_.mutable_validity()->set_seconds(3600);
  ASSERT_TRUE(call("Bearer reviews-token").ok());
  tls::X509Ptr leaf = parseCert(response_.certificate_chain(0));
  auto validity = tls::certificateValidity(*leaf);
  ASSERT_TRUE(validity.ok());
  EXPECT_EQ(validity->not_after - validity->not_before,
            std::chrono::seconds(3600) + std::chrono::minutes(1));
}

TEST_F(CertificateServiceTest, EveryReasonHasTheDocumentedCode) {
  using enum RejectReason;
  const std::map<RejectReason, grpc::StatusCode> expected = {
      {kMissingToken, grpc::StatusCode::UNAUTHENTICATED},
      {kUnknownToken, grpc::StatusCode::UNAUTHENTICATED},
      {kNotServiceAccount, grpc::StatusCode::UNAUTHENTICATED},
      {kCredentialsUnavailable, grpc::StatusCode::UNAVAILABLE},
      {kCaNotReady, grpc::StatusCode::UNAVAILABLE},
      {kInvalidRequest, grpc::StatusCode::INVALID_ARGUMENT},
      {kMalformedCsr, grpc::StatusCode::INVALID_ARGUMENT},
      {kBadCsrSignature, grpc::StatusCode::INVALID_ARGUMENT},
      {kUnsupportedKey, grpc::StatusCode::INVALID_ARGUMENT},
      {kIdentityMismatch, grpc::StatusCode::PERMISSION_DENIED},
      {kSigningFailed, grpc::StatusCode::UNAVAILABLE},
      {kInternal, grpc::StatusCode::INTERNAL},
  };
  ASSERT_EQ(expected.size(), kAllRejectReasons.size());
  std::set<std::string_view> labels;
  for (RejectReason reason : kAllRejectReasons) {
    EXPECT_EQ(CertificateService::statusCode(reason), expected.at(reason)) << reasonLabel(reason);
    labels.insert(reasonLabel(reason));
    EXPECT_EQ(rejected(std::string(reasonLabel(reason))), 0);  // registered up front
  }
  EXPECT_EQ(labels.size(), kAllRejectReasons.size());
}

TEST_F(CertificateServiceTest, SigningCertificateExpiryIsExported) {
  for (const auto& family : registry_.Collect()) {
    if (family.name == "weft_cp_ca_signing_certificate_expiry_timestamp_seconds") {
      ASSERT_EQ(family.metric.size(), 1u);
      EXPECT_EQ(family.metric[0].gauge.value,
                static_cast<double>(
                    authority_->material()->signing_cert_not_after.time_since_epoch().count()));
      return;
    }
  }
  ADD_FAILURE() << "no expiry gauge";
}

}  // namespace
}  // namespace weft::controlplane::ca

namespace weft::controlplane::ca {
namespace {

// Blocks every call until released, as a TokenReview against a stalled API server would.
class StalledAuthenticator final : public CallerAuthenticator {
 public:
  Decision<WorkloadIdentity> authenticate(std::string_view) override {
    std::unique_lock lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
    return WorkloadIdentity{"default", "reviews"};
  }
  bool mayBlock() const override { return true; }

  bool waitForEntered(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return entered_ >= count; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool released_ = false;
};

struct StalledRun {
  int issued = 0;
  std::vector<std::string> refusals;  // the messages of the calls refused while it stalled
};

// Over a real gRPC server: `calls` calls from this process (one peer address) while the
// authenticator is stalled, then released. Calls whose authenticator blocks run off gRPC's
// threads; those beyond the wait limits are refused at once rather than queued.
StalledRun runStalledCalls(CertificateService::WaitLimits limits, int calls_made,
                           int expected_refusals) {
  TempDir dir;
  prometheus::Registry registry;
  auto metrics = std::make_shared<CaMetrics>(registry);
  CertificateAuthority authority(std::make_unique<DirectoryCaStorage>(dir.path()),
                                 CertificateAuthorityOptions{}, metrics);
  EXPECT_EQ(authority.start(), "");
  authority.setTrustDomain("cluster.local");
  StalledAuthenticator authenticator;
  auto service = std::make_unique<CertificateService>(authority, authenticator, metrics, limits);

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  EXPECT_NE(port, 0);
  auto stub = weft::v1::CertificateService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  auto key = p256Key();
  weft::v1::CreateCertificateRequest request;
  request.set_csr(makeCsrPem(key.get()));
  struct Call {
    grpc::ClientContext context;
    weft::v1::CreateCertificateResponse response;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls;
  std::mutex mutex;
  std::condition_variable done_changed;
  int done = 0;
  for (int i = 0; i < calls_made; ++i) {
    calls.push_back(std::make_unique<Call>());
    Call& call = *calls.back();
    call.context.AddMetadata("authorization", "Bearer reviews-token");
    call.context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stub->async()->CreateCertificate(&call.context, &request, &call.response,
                                     [&](grpc::Status status) {
                                       std::lock_guard lock(mutex);
                                       call.status = std::move(status);
                                       ++done;
                                       done_changed.notify_all();
                                     });
  }
  // The pool's two threads hold a call each, others wait; the rest are refused at once. Bounded
  // waits: a regression that blocked gRPC's own threads fails here, not by hanging.
  const bool entered = authenticator.waitForEntered(2);
  bool refused_early = false;
  StalledRun run;
  {
    std::unique_lock lock(mutex);
    refused_early = done_changed.wait_for(lock, std::chrono::seconds(30),
                                          [&] { return done >= expected_refusals; });
    EXPECT_EQ(done, expected_refusals);
    for (const auto& call : calls) {
      if (!call->status.ok()) {
        EXPECT_EQ(call->status.error_code(), grpc::StatusCode::UNAVAILABLE);
        run.refusals.push_back(call->status.error_message());
      }
    }
  }
  authenticator.release();
  bool all_done = false;
  {
    std::unique_lock lock(mutex);
    // Past the calls' 60 s deadline every callback has run, so none outlives this function.
    all_done =
        done_changed.wait_for(lock, std::chrono::seconds(90), [&] { return done == calls_made; });
  }
  EXPECT_TRUE(entered && refused_early && all_done) << entered << refused_early << all_done;
  for (const auto& call : calls) {
    run.issued += call->status.ok() ? 1 : 0;
  }
  EXPECT_EQ(counterValue(registry, "weft_cp_ca_requests_rejected_total",
                         {{"reason", "credentials_unavailable"}}),
            expected_refusals);
  server->Shutdown();
  return run;
}

TEST(CertificateServiceBlockingTest, BoundsTheCallsWaitingForABlockingAuthenticator) {
  const CertificateService::WaitLimits limits{256, 1000};
  const StalledRun run = runStalledCalls(limits, limits.total + 3, 3);
  EXPECT_EQ(run.issued, limits.total);
  ASSERT_EQ(run.refusals.size(), 3u);
  for (const std::string& message : run.refusals) {
    EXPECT_EQ(message,
              "too many certificate requests are waiting for the Kubernetes API; retry "
              "later");
  }
}

TEST(CertificateServiceBlockingTest, OnePeerTakesAtMostItsShareOfTheWaitingPlaces) {
  const CertificateService::WaitLimits limits{256, 5};
  const StalledRun run = runStalledCalls(limits, 9, 4);
  EXPECT_EQ(run.issued, 5);
  ASSERT_EQ(run.refusals.size(), 4u);
  for (const std::string& message : run.refusals) {
    EXPECT_EQ(message,
              "too many certificate requests from ipv4:127.0.0.1 are waiting for the "
              "Kubernetes API; retry later");
  }
}

}  // namespace
}  // namespace weft::controlplane::ca
