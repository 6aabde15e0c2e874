// GrpcCertificateSigner (a unary call on the proxy's own HTTP/2 gRPC client) against the real
// gRPC server library serving CertificateService on loopback.
#include "proxy/identity/grpc_certificate_signer.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "weft/v1/ca.grpc.pb.h"

namespace weft::proxy::identity {
namespace {

using ::testing::HasSubstr;

constexpr auto kPatience = std::chrono::seconds(10);

class FakeCertificateService final : public weft::v1::CertificateService::Service {
 public:
  grpc::Status CreateCertificate(grpc::ServerContext* context,
                                 const weft::v1::CreateCertificateRequest* request,
                                 weft::v1::CreateCertificateResponse* response) override {
    std::unique_lock lock(mutex_);
    auto found = context->client_metadata().find("authorization");
    authorization_ = found == context->client_metadata().end()
                         ? ""
                         : std::string(found->second.data(), found->second.size());
    csr_ = request->csr();
    deadline_set_ = context->deadline() != std::chrono::system_clock::time_point::max();
    if (hang_) {
      // Until the client goes away (gRPC notes it; nothing wakes us, so look now and then).
      const auto give_up = std::chrono::steady_clock::now() + kPatience;
      while (!context->IsCancelled() && std::chrono::steady_clock::now() < give_up) {
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        lock.lock();
      }
      return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
    }
    if (authorization_ != "Bearer good-token") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "token not recognised: 100% sure");
    }
    response->add_certificate_chain("leaf");
    response->set_trust_bundle("roots");
    response->mutable_expiry()->set_seconds(42);
    return grpc::Status::OK;
  }

  std::mutex mutex_;
  std::string authorization_;
  std::string csr_;
  bool deadline_set_ = false;
  bool hang_ = false;
};

class GrpcCertificateSignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    token_file_ = ::testing::TempDir() + "/weft-signer-token-" + std::to_string(::getpid());
    writeToken("good-token\n");
  }

  void TearDown() override {
    signer_.reset();
    io_.run_for(std::chrono::milliseconds(20));
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    std::remove(token_file_.c_str());
  }

  void writeToken(const std::string& text) { std::ofstream(token_file_) << text; }

  CaClientConfig config() const {
    CaClientConfig out;
    out.host = "127.0.0.1";
    out.port = static_cast<uint16_t>(port_);
    out.token_file = token_file_;
    return out;
  }

  // One call; returns its outcome.
  std::pair<xds::GrpcStatus, weft::v1::CreateCertificateResponse> call(CaClientConfig settings) {
    signer_ = std::make_unique<GrpcCertificateSigner>(io_, std::move(settings));
    weft::v1::CreateCertificateRequest request;
    request.set_csr("-----BEGIN CERTIFICATE REQUEST-----\n...");
    std::optional<std::pair<xds::GrpcStatus, weft::v1::CreateCertificateResponse>> outcome;
    signer_->sign(request, [&](xds::GrpcStatus status, weft::v1::CreateCertificateResponse r) {
      outcome.emplace(std::move(status), std::move(r));
    });
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (!outcome && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(10));
      io_.restart();
    }
    EXPECT_TRUE(outcome) << "no outcome";
    return outcome.value_or(std::pair<xds::GrpcStatus, weft::v1::CreateCertificateResponse>{});
  }

  boost::asio::io_context io_;
  FakeCertificateService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string token_file_;
  std::unique_ptr<GrpcCertificateSigner> signer_;
};

TEST_F(GrpcCertificateSignerTest, SendsTheRequestWithTheTokenAndReturnsTheResponse) {
  auto [status, response] = call(config());
  EXPECT_EQ(status.code, 0) << status.message;
  ASSERT_EQ(response.certificate_chain_size(), 1);
  EXPECT_EQ(response.certificate_chain(0), "leaf");
  EXPECT_EQ(response.trust_bundle(), "roots");
  std::lock_guard lock(service_.mutex_);
  EXPECT_EQ(service_.authorization_, "Bearer good-token");
  EXPECT_EQ(service_.csr_, "-----BEGIN CERTIFICATE REQUEST-----\n...");
  EXPECT_TRUE(service_.deadline_set_);
}

TEST_F(GrpcCertificateSignerTest, ReadsTheTokenAgainAtEveryCall) {
  writeToken("stale-token\n");
  auto [refused, ignored] = call(config());
  EXPECT_EQ(refused.code, 16);
  EXPECT_EQ(refused.message, "token not recognised: 100% sure");
  writeToken("good-token\n");
  auto [accepted, response] = call(config());
  EXPECT_EQ(accepted.code, 0) << accepted.message;
}

TEST_F(GrpcCertificateSignerTest, AMissingTokenFileFailsWithoutACall) {
  CaClientConfig settings = config();
  settings.token_file = token_file_ + ".missing";
  auto [status, response] = call(settings);
  EXPECT_EQ(status.code, 9);
  EXPECT_THAT(status.message, HasSubstr("cannot read the token file"));
  std::lock_guard lock(service_.mutex_);
  EXPECT_TRUE(service_.csr_.empty());
}

TEST_F(GrpcCertificateSignerTest, ANoAnswerEndsWithDeadlineExceeded) {
  service_.hang_ = true;
  CaClientConfig settings = config();
  settings.timeout = std::chrono::milliseconds(200);
  auto [status, response] = call(settings);
  EXPECT_EQ(status.code, 4);
  EXPECT_THAT(status.message, HasSubstr("within 200 ms"));
}

TEST_F(GrpcCertificateSignerTest, AnUnreachableServerIsUnavailable) {
  CaClientConfig settings = config();
  settings.port = 1;  // nothing listens on port 1 of loopback
  auto [status, response] = call(settings);
  EXPECT_EQ(status.code, 14);
}

TEST(GrpcStatusCodeNameTest, NamesTheCodes) {
  EXPECT_EQ(xds::grpcStatusCodeName(0), "OK");
  EXPECT_EQ(xds::grpcStatusCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(xds::grpcStatusCodeName(99), "CODE_99");
}

}  // namespace
}  // namespace weft::proxy::identity
