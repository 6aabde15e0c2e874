// TLS to the control plane: GrpcBidiStream with ControlPlaneTls against the real gRPC server
// library serving TLS, on loopback. Each way the server can fail to be the one configured
// (another CA, another name, no matching subjectAltName, no roots) ends the call with a status
// that says which.

#include "proxy/xds/control_plane_tls.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config/yaml_to_proto.h"
#include "common/tls/certificate_builder.h"
#include "common/tls/key.h"
#include "common/tls/pem.h"
#include "proxy/xds/grpc_bidi_stream.h"
#include "weft/v1/discovery.grpc.pb.h"

namespace weft::proxy::xds {
namespace {

using ::testing::HasSubstr;

constexpr auto kPatience = std::chrono::seconds(10);

using Stream = grpc::ServerReaderWriter<weft::v1::DiscoveryResponse, weft::v1::DiscoveryRequest>;

// Answers each request with a response naming the request's type.
class EchoService final : public weft::v1::AggregatedDiscoveryService::Service {
 public:
  grpc::Status StreamResources(grpc::ServerContext*, Stream* stream) override {
    weft::v1::DiscoveryRequest request;
    while (stream->Read(&request)) {
      weft::v1::DiscoveryResponse response;
      response.set_type_url(request.type_url());
      stream->Write(response);
    }
    return grpc::Status::OK;
  }
};

struct TestCa {
  tls::EvpPkeyPtr key;
  tls::X509Ptr cert;

  explicit TestCa(const std::string& name) {
    key = tls::generateEcdsaP256Key().value();
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    tls::CertificateBuilder builder;
    builder.setSubjectKey(*key)
        .setSubjectName(name)
        .setValidity(now - std::chrono::hours(1), now + std::chrono::hours(24))
        .addExtension(NID_basic_constraints, "critical,CA:TRUE")
        .addExtension(NID_key_usage, "critical,keyCertSign")
        .addExtension(NID_subject_key_identifier, "hash");
    cert = builder.sign(*key).value();
  }

  std::string pem() const { return tls::writeCertificatePem(*cert).value(); }
};

class ControlPlaneTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The server's certificate names a DNS name and the loopback address it is dialed at.
    auto server_key = tls::generateEcdsaP256Key().value();
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    const std::vector<std::string> hosts = {"weft-controlplane.weft-system.svc", "127.0.0.1"};
    tls::CertificateBuilder builder;
    builder.setSubjectKey(*server_key)
        .setValidity(now - std::chrono::hours(1), now + std::chrono::hours(1))
        .setIssuer(mesh_ca_.cert.get())
        .addServerSubjectAltNames(hosts, true)
        .addExtension(NID_basic_constraints, "critical,CA:FALSE")
        .addExtension(NID_ext_key_usage, "serverAuth");
    auto server_cert = builder.sign(*mesh_ca_.key).value();

    grpc::SslServerCredentialsOptions tls_options;
    tls_options.pem_key_cert_pairs.push_back({tls::writePrivateKeyPem(*server_key).value(),
                                              tls::writeCertificatePem(*server_cert).value()});
    grpc::ServerBuilder server_builder;
    server_builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls_options), &port_);
    server_builder.RegisterService(&service_);
    server_ = server_builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);

    char directory[] = "/tmp/weft-cp-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(directory), nullptr);
    directory_ = directory;
    mesh_roots_ = write("mesh-roots.pem", mesh_ca_.pem());
    other_roots_ = write("other-roots.pem", TestCa("another root").pem());
  }

  void TearDown() override {
    if (stream_) {
      stream_->cancel();
    }
    io_.run_for(std::chrono::milliseconds(50));
    stream_.reset();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    for (const std::string& file : files_) {
      std::remove(file.c_str());
    }
    ::rmdir(directory_.c_str());
  }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = directory_ + "/" + name;
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }

  // Settings as the bootstrap gives them; the proxy dials 127.0.0.1.
  std::shared_ptr<const ControlPlaneTls> settings(
      const std::function<void(weft::v1::ControlPlaneTls&)>& edit) {
    weft::v1::ControlPlaneTls tls;
    tls.set_ca_file(mesh_roots_);
    edit(tls);
    std::string error;
    auto compiled = ControlPlaneTls::from(tls, "127.0.0.1", "ads.server.tls", error);
    EXPECT_NE(compiled, nullptr) << error;
    return compiled;
  }

  // Opens the call, sends one request and runs until a response or the end of the call.
  void call(std::shared_ptr<const ControlPlaneTls> tls) {
    GrpcCallOptions options;
    options.host = "127.0.0.1";
    options.port = static_cast<uint16_t>(port_);
    options.path = "/weft.v1.AggregatedDiscoveryService/StreamResources";
    options.user_agent = "weft-proxy/test";
    options.tls = std::move(tls);
    GrpcBidiStream::Handlers handlers;
    handlers.on_message = [this](std::string bytes) {
      weft::v1::DiscoveryResponse response;
      ASSERT_TRUE(response.ParseFromString(bytes));
      responses_.push_back(response);
    };
    handlers.on_closed = [this](GrpcStatus status) { closed_ = status; };
    stream_ = std::make_shared<GrpcBidiStream>(io_, std::move(options), std::move(handlers));
    stream_->start();
    weft::v1::DiscoveryRequest request;
    request.set_type_url("type/A");
    stream_->send(request.SerializeAsString());
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (responses_.empty() && !closed_ && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(10));
      io_.restart();
    }
    ASSERT_TRUE(!responses_.empty() || closed_)
        << "no outcome within " << kPatience.count() << " s";
  }

  TestCa mesh_ca_{"mesh root"};
  EchoService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string directory_;
  std::vector<std::string> files_;
  std::string mesh_roots_;
  std::string other_roots_;
  boost::asio::io_context io_;
  std::shared_ptr<GrpcBidiStream> stream_;
  std::vector<weft::v1::DiscoveryResponse> responses_;
  std::optional<GrpcStatus> closed_;
};

TEST_F(ControlPlaneTlsTest, VerifiesTheAddressDialedByDefault) {
  call(settings([](weft::v1::ControlPlaneTls&) {}));
  ASSERT_EQ(responses_.size(), 1u) << (closed_ ? closed_->message : "");
  EXPECT_EQ(responses_[0].type_url(), "type/A");
}

TEST_F(ControlPlaneTlsTest, VerifiesTheServerNameGiven) {
  call(settings([](weft::v1::ControlPlaneTls& tls) {
    tls.set_server_name("weft-controlplane.weft-system.svc");
  }));
  ASSERT_EQ(responses_.size(), 1u) << (closed_ ? closed_->message : "");
}

TEST_F(ControlPlaneTlsTest, RefusesAServerWithAnotherName) {
  call(settings(
      [](weft::v1::ControlPlaneTls& tls) { tls.set_server_name("istiod.istio-system.svc"); }));
  ASSERT_TRUE(closed_.has_value());
  EXPECT_TRUE(responses_.empty());
  EXPECT_EQ(closed_->code, 14);
  EXPECT_THAT(closed_->message, HasSubstr("the control plane's certificate was refused"));
  EXPECT_THAT(closed_->message, HasSubstr("expected istiod.istio-system.svc"));
}

TEST_F(ControlPlaneTlsTest, RefusesAServerWhoseCertificateLacksTheAddressDialed) {
  call(settings([](weft::v1::ControlPlaneTls& tls) { tls.set_server_name("127.0.0.2"); }));
  ASSERT_TRUE(closed_.has_value());
  EXPECT_TRUE(responses_.empty());
  EXPECT_EQ(closed_->code, 14);
  EXPECT_THAT(closed_->message, HasSubstr("certificate was refused: IP address mismatch"));
}

TEST_F(ControlPlaneTlsTest, RefusesAnEmptySubjectAltNamePattern) {
  weft::v1::ControlPlaneTls tls;
  tls.set_ca_file(mesh_roots_);
  tls.add_match_subject_alt_names()->set_ignore_case(true);  // no string condition
  std::string error;
  EXPECT_EQ(ControlPlaneTls::from(tls, "127.0.0.1", "ads.server.tls", error), nullptr);
  EXPECT_THAT(error, HasSubstr("ads.server.tls.match_subject_alt_names[0]: give exact"));
}

TEST_F(ControlPlaneTlsTest, RefusesAServerFromAnotherCa) {
  call(settings([this](weft::v1::ControlPlaneTls& tls) { tls.set_ca_file(other_roots_); }));
  ASSERT_TRUE(closed_.has_value());
  EXPECT_TRUE(responses_.empty());
  EXPECT_EQ(closed_->code, 14);
  EXPECT_THAT(closed_->message, HasSubstr("certificate was refused: unable to get local issuer"));
  EXPECT_THAT(closed_->message, HasSubstr(other_roots_));
}

TEST_F(ControlPlaneTlsTest, AcceptsASubjectAltNameThatMatchesAPattern) {
  call(settings([](weft::v1::ControlPlaneTls& tls) {
    tls.add_match_subject_alt_names()->set_exact("nothing-like-it");
    auto* pattern = tls.add_match_subject_alt_names();
    pattern->set_suffix(".WEFT-SYSTEM.SVC");
    pattern->set_ignore_case(true);
  }));
  ASSERT_EQ(responses_.size(), 1u) << (closed_ ? closed_->message : "");
}

TEST_F(ControlPlaneTlsTest, RefusesWhenNoSubjectAltNameMatches) {
  call(settings([](weft::v1::ControlPlaneTls& tls) {
    tls.add_match_subject_alt_names()->set_regex("spiffe://cluster\\.local/ns/weft-system/.*");
  }));
  ASSERT_TRUE(closed_.has_value());
  EXPECT_TRUE(responses_.empty());
  EXPECT_EQ(closed_->code, 14);
  EXPECT_THAT(closed_->message,
              HasSubstr("no subjectAltName of the control plane's certificate "
                        "(weft-controlplane.weft-system.svc) matches match_subject_alt_names"));
}

TEST_F(ControlPlaneTlsTest, SaysWhenTheRootsCannotBeRead) {
  call(settings(
      [this](weft::v1::ControlPlaneTls& tls) { tls.set_ca_file(directory_ + "/missing.pem"); }));
  ASSERT_TRUE(closed_.has_value());
  EXPECT_EQ(closed_->code, 14);
  EXPECT_THAT(closed_->message, HasSubstr("cannot load the control plane's roots from " +
                                          directory_ + "/missing.pem"));
}

TEST_F(ControlPlaneTlsTest, VerifiesWithInlineRootsWhereverTheRightOneIs) {
  // Every certificate of the text is trusted, not only the first.
  const std::string roots = TestCa("another root").pem() + mesh_ca_.pem();
  auto compiled = settings([&roots](weft::v1::ControlPlaneTls& tls) { tls.set_ca_pem(roots); });
  ASSERT_NE(compiled, nullptr);
  EXPECT_EQ(compiled->rootsSource(), "the inline ca_pem");
  call(compiled);
  ASSERT_EQ(responses_.size(), 1u) << (closed_ ? closed_->message : "");
  EXPECT_EQ(responses_[0].type_url(), "type/A");
}

TEST_F(ControlPlaneTlsTest, RefusesAServerFromAnotherCaWithInlineRoots) {
  const std::string roots = TestCa("another root").pem();
  call(settings([&roots](weft::v1::ControlPlaneTls& tls) { tls.set_ca_pem(roots); }));
  ASSERT_TRUE(closed_.has_value());
  EXPECT_TRUE(responses_.empty());
  EXPECT_EQ(closed_->code, 14);
  EXPECT_THAT(closed_->message, HasSubstr("certificate was refused: unable to get local issuer"));
  EXPECT_THAT(closed_->message, HasSubstr("roots from the inline ca_pem"));
}

TEST_F(ControlPlaneTlsTest, RefusesInlineRootsWithoutACertificate) {
  const std::string mesh = mesh_ca_.pem();
  // Nothing PEM at all; a key instead of a certificate; a readable root beside a broken block.
  for (const std::string& text :
       {std::string("not PEM"),
        tls::writePrivateKeyPem(*tls::generateEcdsaP256Key().value()).value(),
        mesh + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}) {
    weft::v1::ControlPlaneTls tls;
    tls.set_ca_pem(text);
    std::string error;
    EXPECT_EQ(ControlPlaneTls::from(tls, "127.0.0.1", "ads.server.tls", error), nullptr) << text;
    EXPECT_THAT(error, HasSubstr("ads.server.tls.ca_pem: no usable root certificates"));
  }
}

TEST_F(ControlPlaneTlsTest, RefusesSettingsWithoutRoots) {
  weft::v1::ControlPlaneTls tls;
  std::string error;
  EXPECT_EQ(ControlPlaneTls::from(tls, "127.0.0.1", "ads.server.tls", error), nullptr);
  EXPECT_THAT(error, HasSubstr("ads.server.tls: one of ca_file, ca_pem is required"));
  tls.set_ca_file("");
  EXPECT_EQ(ControlPlaneTls::from(tls, "127.0.0.1", "ads.server.tls", error), nullptr);
  EXPECT_THAT(error, HasSubstr("ads.server.tls.ca_file: must not be empty"));
}

// The bootstrap's rules: exactly one of the two, each error naming the field.
TEST(ControlPlaneTlsRulesTest, ABootstrapGivesExactlyOneSourceOfRoots) {
  const auto load = [](const std::string& tls) {
    weft::v1::Bootstrap bootstrap;
    return config::formatErrors(
        config::loadYaml("node: {id: a}\n"
                         "dynamic_resources:\n"
                         "  ads:\n"
                         "    server:\n"
                         "      address: {address: 127.0.0.1, port: 15012}\n"
                         "      tls: " +
                             tls + "\n",
                         "bootstrap.yaml", bootstrap));
  };
  EXPECT_EQ(load("{ca_file: /etc/weft/roots.pem}"), "");
  EXPECT_EQ(load("{ca_pem: \"-----BEGIN CERTIFICATE-----\\n...\\n\"}"), "");
  EXPECT_THAT(load("{server_name: cp.weft-system.svc}"),
              HasSubstr("dynamic_resources.ads.server.tls: one of ca_file, ca_pem is required"));
  EXPECT_THAT(load("{ca_file: /etc/weft/roots.pem, ca_pem: x}"),
              HasSubstr("dynamic_resources.ads.server.tls.ca_pem: only one of the 'roots' fields "
                        "may be set"));
}

TEST_F(ControlPlaneTlsTest, ACleartextCallToTheTlsPortFails) {
  call(nullptr);
  ASSERT_TRUE(closed_.has_value());
  EXPECT_TRUE(responses_.empty());
  EXPECT_EQ(closed_->code, 14);
}

}  // namespace
}  // namespace weft::proxy::xds
