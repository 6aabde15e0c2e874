#include "proxy/identity/ca_client_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::proxy::identity {
namespace {

using ::testing::HasSubstr;

weft::v1::Bootstrap withAds() {
  weft::v1::Bootstrap bootstrap;
  auto* server = bootstrap.mutable_dynamic_resources()->mutable_ads()->mutable_server();
  server->mutable_address()->set_address("weft-controlplane.weft-system.svc");
  server->mutable_address()->set_port(15010);
  server->set_token_file("/var/run/secrets/tokens/weft-token");
  server->mutable_timeout()->set_seconds(3);
  bootstrap.mutable_dynamic_resources()->mutable_ca();
  return bootstrap;
}

TEST(CaClientConfigTest, DefaultsToTheAdsServerAndTheDocumentedSettings) {
  CaClientConfig config;
  ASSERT_EQ(caClientConfigFrom(withAds(), config), "");
  EXPECT_EQ(config.host, "weft-controlplane.weft-system.svc");
  EXPECT_EQ(config.port, 15010);
  EXPECT_EQ(config.token_file, "/var/run/secrets/tokens/weft-token");
  EXPECT_EQ(config.timeout, std::chrono::seconds(3));
  EXPECT_EQ(config.validity, std::chrono::hours(24));
  EXPECT_EQ(config.renew_at_percent, 50);
  EXPECT_EQ(config.key_type, weft::v1::CertificateAuthorityConfig::ECDSA_P256);
  EXPECT_EQ(config.authority(), "weft-controlplane.weft-system.svc:15010");
}

TEST(CaClientConfigTest, TakesItsOwnServerAndSettings) {
  weft::v1::Bootstrap bootstrap = withAds();
  auto* ca = bootstrap.mutable_dynamic_resources()->mutable_ca();
  ca->mutable_server()->mutable_address()->set_address("::1");
  ca->mutable_server()->mutable_address()->set_port(15012);
  ca->mutable_validity()->set_seconds(3600);
  ca->mutable_renew_at_percent()->set_value(75);
  ca->set_key_type(weft::v1::CertificateAuthorityConfig::RSA_2048);
  CaClientConfig config;
  ASSERT_EQ(caClientConfigFrom(bootstrap, config), "");
  EXPECT_EQ(config.authority(), "[::1]:15012");
  EXPECT_EQ(config.token_file, "");  // the CA server's own, not the ADS server's
  EXPECT_EQ(config.timeout, std::chrono::seconds(10));
  EXPECT_EQ(config.validity, std::chrono::hours(1));
  EXPECT_EQ(config.renew_at_percent, 75);
  EXPECT_EQ(config.key_type, weft::v1::CertificateAuthorityConfig::RSA_2048);
}

TEST(CaClientConfigTest, TakesTheAdsServersTls) {
  weft::v1::Bootstrap bootstrap = withAds();
  bootstrap.mutable_dynamic_resources()
      ->mutable_ads()
      ->mutable_server()
      ->mutable_tls()
      ->set_ca_file("/var/run/weft/roots.pem");
  CaClientConfig config;
  ASSERT_EQ(caClientConfigFrom(bootstrap, config), "");
  ASSERT_NE(config.tls, nullptr);
  EXPECT_EQ(config.tls->rootsSource(), "/var/run/weft/roots.pem");
  // The name checked defaults to the host dialed.
  EXPECT_EQ(config.tls->serverName(), "weft-controlplane.weft-system.svc");
}

TEST(CaClientConfigTest, RefusesWhatItCannotServe) {
  CaClientConfig config;
  weft::v1::Bootstrap no_server;
  no_server.mutable_dynamic_resources()->mutable_ca();
  EXPECT_THAT(caClientConfigFrom(no_server, config), HasSubstr("dynamic_resources.ca.server"));

  weft::v1::Bootstrap by_cluster = withAds();
  by_cluster.mutable_dynamic_resources()->mutable_ca()->mutable_server()->set_cluster("cp");
  EXPECT_THAT(caClientConfigFrom(by_cluster, config),
              HasSubstr("dynamic_resources.ca.server.cluster: is not implemented"));

  weft::v1::Bootstrap client_certificate = withAds();
  auto* tls = client_certificate.mutable_dynamic_resources()
                  ->mutable_ads()
                  ->mutable_server()
                  ->mutable_tls();
  tls->set_ca_file("/etc/roots.pem");
  tls->mutable_present_workload_certificate()->set_value(true);
  EXPECT_THAT(caClientConfigFrom(client_certificate, config),
              HasSubstr("dynamic_resources.ads.server.tls.present_workload_certificate: is not "
                        "implemented"));

  weft::v1::Bootstrap bad_pattern = withAds();
  auto* pattern_tls =
      bad_pattern.mutable_dynamic_resources()->mutable_ads()->mutable_server()->mutable_tls();
  pattern_tls->set_ca_file("/etc/roots.pem");
  pattern_tls->add_match_subject_alt_names()->set_regex("spiffe://(");
  EXPECT_THAT(caClientConfigFrom(bad_pattern, config),
              HasSubstr("dynamic_resources.ads.server.tls.match_subject_alt_names[0].regex: "
                        "invalid regular expression"));

  weft::v1::Bootstrap two_identities = withAds();
  auto* identity = two_identities.mutable_static_resources()->add_secrets();
  identity->set_name("identity");
  EXPECT_THAT(caClientConfigFrom(two_identities, config),
              HasSubstr("static_resources.secrets[0].name"));
}

}  // namespace
}  // namespace weft::proxy::identity
