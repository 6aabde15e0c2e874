#include "proxy/xds/ads_state.h"

#include <gtest/gtest.h>

#include "proxy/snapshot/snapshot_builder.h"
#include "weft/v1/cluster.pb.h"
#include "weft/v1/endpoint.pb.h"
#include "weft/v1/listener.pb.h"
#include "weft/v1/route.pb.h"
#include "weft/v1/secret.pb.h"

namespace weft::proxy::xds {
namespace {

weft::v1::Cluster edsCluster(const std::string& name) {
  weft::v1::Cluster cluster;
  cluster.set_name(name);
  cluster.set_type(weft::v1::Cluster::EDS);
  return cluster;
}

weft::v1::ClusterLoadAssignment endpoints(const std::string& name, uint32_t port) {
  weft::v1::ClusterLoadAssignment cla;
  cla.set_cluster_name(name);
  auto* address = cla.add_endpoints()->add_lb_endpoints()->mutable_endpoint()->mutable_address();
  address->set_address("127.0.0.1");
  address->set_port(port);
  return cla;
}

weft::v1::Listener listener(const std::string& name, uint32_t port, const std::string& routes) {
  weft::v1::Listener out;
  out.set_name(name);
  out.mutable_address()->set_address("127.0.0.1");
  out.mutable_address()->set_port(port);
  auto* chain = out.add_filter_chains();
  chain->set_name("http");
  chain->mutable_http()->set_stat_prefix("outbound");
  chain->mutable_http()->set_route_config_name(routes);
  return out;
}

weft::v1::RouteConfiguration routes(const std::string& name, const std::string& cluster) {
  weft::v1::RouteConfiguration out;
  out.set_name(name);
  auto* vhost = out.add_virtual_hosts();
  vhost->set_name("reviews");
  vhost->add_domains("*");
  auto* route = vhost->add_routes();
  route->mutable_match()->set_prefix("/");
  route->mutable_route()->set_cluster(cluster);
  return out;
}

template <class... M>
weft::v1::DiscoveryResponse response(XdsType type, const std::string& version,
                                     const std::string& nonce, const M&... messages) {
  weft::v1::DiscoveryResponse out;
  out.set_type_url(std::string(xdsTypeUrl(type)));
  out.set_version_info(version);
  out.set_nonce(nonce);
  (out.add_resources()->PackFrom(messages, "type.googleapis.com"), ...);
  return out;
}

class AdsStateTest : public ::testing::Test {
 protected:
  AdsStateTest() : state_(bootstrap(), build()) {}

  static weft::v1::Bootstrap bootstrap() {
    weft::v1::Bootstrap out;
    out.mutable_node()->set_id("proxy-a");
    out.mutable_node()->set_namespace_("default");
    auto* control_plane = out.mutable_static_resources()->add_clusters();
    control_plane->set_name("static-cluster");
    auto* address = control_plane->mutable_load_assignment()
                        ->add_endpoints()
                        ->add_lb_endpoints()
                        ->mutable_endpoint()
                        ->mutable_address();
    address->set_address("127.0.0.1");
    address->set_port(15010);
    return out;
  }

  static AdsState::Build build() {
    return [](const weft::v1::Bootstrap& b, config::ConfigErrors& errors) {
      return buildSnapshot(b, "xds", errors, 1);
    };
  }

  AdsState state_;
};

TEST_F(AdsStateTest, FirstRequestsCarryTheNodeAndProxyVersion) {
  auto requests = state_.streamRequests();
  ASSERT_EQ(requests.size(), 2u);  // the wildcard types; nothing references the others yet
  EXPECT_EQ(requests[0].type_url(), xdsTypeUrl(XdsType::kCluster));
  EXPECT_EQ(requests[1].type_url(), xdsTypeUrl(XdsType::kListener));
  EXPECT_EQ(requests[0].node().id(), "proxy-a");
  EXPECT_FALSE(requests[0].node().proxy_version().empty());
  EXPECT_FALSE(requests[1].has_node());
  EXPECT_EQ(requests[0].version_info(), "");
}

TEST_F(AdsStateTest, ClustersSubscribeToTheirEndpointsAndWarmUntilTheyArrive) {
  auto outcome = state_.onResponse(response(XdsType::kCluster, "c1", "1", edsCluster("a")));
  ASSERT_TRUE(outcome.accepted);
  EXPECT_EQ(outcome.reply.version_info(), "c1");
  EXPECT_EQ(outcome.reply.response_nonce(), "1");
  EXPECT_FALSE(outcome.reply.has_error_detail());
  ASSERT_EQ(outcome.subscription_changes.size(), 1u);
  EXPECT_EQ(outcome.subscription_changes[0].type_url(), xdsTypeUrl(XdsType::kEndpoints));
  EXPECT_EQ(outcome.subscription_changes[0].resource_names(0), "a");
  EXPECT_FALSE(state_.complete());

  outcome = state_.onResponse(response(XdsType::kEndpoints, "e1", "2", endpoints("a", 9080)));
  ASSERT_TRUE(outcome.accepted);
  EXPECT_TRUE(state_.complete());
  ASSERT_TRUE(outcome.snapshot);
  const auto assembled = state_.assemble();
  ASSERT_EQ(assembled.static_resources().clusters_size(), 2);
  const auto& merged = assembled.static_resources().clusters(1);
  EXPECT_EQ(merged.type(), weft::v1::Cluster::STATIC);
  EXPECT_EQ(merged.load_assignment().endpoints(0).lb_endpoints(0).endpoint().address().port(),
            9080u);
}

TEST_F(AdsStateTest, ListenerRoutesComeFromRds) {
  ASSERT_TRUE(state_.onResponse(response(XdsType::kCluster, "c1", "1", edsCluster("a"))).accepted);
  auto outcome =
      state_.onResponse(response(XdsType::kListener, "l1", "2", listener("outbound", 0, "r")));
  // Port 0 is refused by the message rules: NACK naming listener and field.
  ASSERT_FALSE(outcome.accepted);
  EXPECT_EQ(outcome.reply.error_detail().resource_name(), "outbound");
  EXPECT_EQ(outcome.reply.error_detail().field(), "address.port");
  EXPECT_EQ(outcome.reply.version_info(), "");  // still nothing accepted of this type

  outcome =
      state_.onResponse(response(XdsType::kListener, "l2", "3", listener("outbound", 18001, "r")));
  ASSERT_TRUE(outcome.accepted);
  ASSERT_FALSE(outcome.subscription_changes.empty());
  EXPECT_FALSE(state_.complete());
  outcome = state_.onResponse(response(XdsType::kRoute, "r1", "4", routes("r", "a")));
  ASSERT_TRUE(outcome.accepted);
  const auto assembled = state_.assemble();
  EXPECT_EQ(assembled.static_resources().listeners(0).filter_chains(0).http().route_config().name(),
            "r");
}

TEST_F(AdsStateTest, BuilderErrorsNameTheResourceAndField) {
  ASSERT_TRUE(state_.onResponse(response(XdsType::kCluster, "c1", "1", edsCluster("a"))).accepted);
  ASSERT_TRUE(
      state_.onResponse(response(XdsType::kListener, "l1", "2", listener("outbound", 18001, "r")))
          .accepted);
  auto outcome = state_.onResponse(response(XdsType::kRoute, "r1", "3", routes("r", "missing")));
  ASSERT_FALSE(outcome.accepted);
  EXPECT_EQ(outcome.reply.error_detail().code(), 3);
  EXPECT_EQ(outcome.reply.error_detail().resource_name(), "r");
  EXPECT_EQ(outcome.reply.error_detail().field(), "virtual_hosts[0].routes[0].route.cluster");
  EXPECT_NE(outcome.reply.error_detail().message().find("missing"), std::string::npos);
  EXPECT_EQ(state_.status(XdsType::kRoute).rejected, 1u);
}

// A listener that waits for its routes is ACKed on arrival; when the routes complete it and
// the whole cannot be applied, both are rejected and the state goes back to what runs.
TEST_F(AdsStateTest, AConfigurationThatCannotBeAppliedIsRejectedOnEveryTypeSinceItRan) {
  ASSERT_TRUE(state_.onResponse(response(XdsType::kCluster, "c1", "1", edsCluster("a"))).accepted);
  ASSERT_TRUE(
      state_.onResponse(response(XdsType::kEndpoints, "e1", "2", endpoints("a", 9080))).accepted);
  state_.markApplied();
  const std::string running = state_.versionSummary();

  auto outcome =
      state_.onResponse(response(XdsType::kListener, "l1", "3", listener("outbound", 18001, "r")));
  ASSERT_TRUE(outcome.accepted);
  EXPECT_FALSE(state_.complete());  // warming: the routes are not there yet
  outcome = state_.onResponse(response(XdsType::kRoute, "r1", "4", routes("r", "a")));
  ASSERT_TRUE(outcome.accepted);
  ASSERT_TRUE(state_.complete());

  weft::v1::ErrorDetail error;
  error.set_code(9);
  error.set_message("listener 'outbound': cannot listen on 127.0.0.1:18001: in use");
  const auto nacks = state_.rejectUnapplied(error);
  ASSERT_EQ(nacks.size(), 2u);
  EXPECT_EQ(nacks[0].type_url(), xdsTypeUrl(XdsType::kListener));
  EXPECT_EQ(nacks[0].response_nonce(), "3");
  EXPECT_EQ(nacks[0].version_info(), "");  // the version in force: none
  EXPECT_EQ(nacks[0].error_detail().message(), error.message());
  EXPECT_EQ(nacks[1].type_url(), xdsTypeUrl(XdsType::kRoute));
  EXPECT_EQ(nacks[1].response_nonce(), "4");
  EXPECT_EQ(nacks[1].resource_names_size(), 0);  // no listener in force asks for routes
  // Back to what runs.
  EXPECT_EQ(state_.versionSummary(), running);
  EXPECT_EQ(state_.assemble().static_resources().listeners_size(), 0);
  EXPECT_EQ(state_.status(XdsType::kListener).rejected, 1u);
  EXPECT_EQ(state_.status(XdsType::kListener).accepted, 1u);
  EXPECT_EQ(state_.status(XdsType::kCluster).rejected, 0u);
  // Nothing accepted since: nothing to reject.
  EXPECT_TRUE(state_.rejectUnapplied(error).empty());
}

TEST_F(AdsStateTest, RejectedUpdateKeepsThePreviousConfiguration) {
  ASSERT_TRUE(state_.onResponse(response(XdsType::kCluster, "c1", "1", edsCluster("a"))).accepted);
  weft::v1::Cluster bad = edsCluster("b");
  bad.mutable_connect_timeout()->set_seconds(100000);  // above the rule's maximum
  auto outcome = state_.onResponse(response(XdsType::kCluster, "c2", "2", edsCluster("a"), bad));
  ASSERT_FALSE(outcome.accepted);
  EXPECT_EQ(outcome.reply.version_info(), "c1");
  EXPECT_EQ(outcome.reply.error_detail().resource_name(), "b");
  EXPECT_EQ(outcome.reply.error_detail().field(), "connect_timeout");
  EXPECT_EQ(state_.assemble().static_resources().clusters_size(), 2);  // static + a
  EXPECT_EQ(state_.status(XdsType::kCluster).version, "c1");
}

TEST_F(AdsStateTest, NamesOfStaticResourcesAndIdentityAreReserved) {
  auto outcome =
      state_.onResponse(response(XdsType::kCluster, "c1", "1", edsCluster("static-cluster")));
  ASSERT_FALSE(outcome.accepted);
  EXPECT_EQ(outcome.reply.error_detail().field(), "name");

  weft::v1::Secret identity;
  identity.set_name("identity");
  identity.mutable_validation_context()->set_trusted_ca_file("/dev/null");
  outcome = state_.onResponse(response(XdsType::kSecret, "s1", "2", identity));
  ASSERT_FALSE(outcome.accepted);
  EXPECT_NE(outcome.reply.error_detail().message().find("reserved"), std::string::npos);
}

// Mesh TLS that names no secrets uses "identity" (from the CA, never asked for) and
// "trust-bundle", which the proxy must ask the control plane for: that is how a root rotation
// reaches it without waiting for its next certificate.
TEST_F(AdsStateTest, MeshTlsWithDefaultNamesSubscribesToTheTrustBundle) {
  weft::v1::Cluster plain = edsCluster("plain");
  weft::v1::Cluster mesh = edsCluster("mesh");
  mesh.mutable_tls()->set_mode(weft::v1::UpstreamTls::MUTUAL_MESH);
  auto outcome = state_.onResponse(response(XdsType::kCluster, "c1", "1", plain, mesh));
  ASSERT_TRUE(outcome.accepted);
  std::vector<std::string> secrets;
  for (const auto& change : outcome.subscription_changes) {
    if (change.type_url() == xdsTypeUrl(XdsType::kSecret)) {
      secrets.assign(change.resource_names().begin(), change.resource_names().end());
    }
  }
  EXPECT_EQ(secrets, (std::vector<std::string>{"trust-bundle"}));
}

TEST_F(AdsStateTest, AListenerWithTlsDisabledAsksForNoSecret) {
  weft::v1::Listener disabled = listener("in", 15006, "r");
  disabled.mutable_filter_chains(0)->mutable_tls()->set_mode(weft::v1::DownstreamTls::DISABLE);
  auto outcome = state_.onResponse(response(XdsType::kListener, "l1", "1", disabled));
  ASSERT_TRUE(outcome.accepted) << outcome.reply.error_detail().message();
  for (const auto& change : outcome.subscription_changes) {
    EXPECT_NE(change.type_url(), xdsTypeUrl(XdsType::kSecret));
  }

  weft::v1::Listener strict = listener("in", 15006, "r");
  strict.mutable_filter_chains(0)->mutable_tls()->set_mode(weft::v1::DownstreamTls::STRICT);
  outcome = state_.onResponse(response(XdsType::kListener, "l2", "2", strict));
  ASSERT_TRUE(outcome.accepted) << outcome.reply.error_detail().message();
  bool asked = false;
  for (const auto& change : outcome.subscription_changes) {
    if (change.type_url() == xdsTypeUrl(XdsType::kSecret)) {
      asked = change.resource_names_size() == 1 && change.resource_names(0) == "trust-bundle";
    }
  }
  EXPECT_TRUE(asked);
}

TEST_F(AdsStateTest, LocalSecretsJoinEveryConfigurationUnlessDeliveredByName) {
  weft::v1::Secret identity;
  identity.set_name("identity");
  identity.mutable_tls_certificate()->set_certificate_chain("chain");
  identity.mutable_tls_certificate()->set_private_key("key");
  weft::v1::Secret ca_bundle;
  ca_bundle.set_name("trust-bundle");
  ca_bundle.mutable_validation_context()->set_trusted_ca("roots from the CA");
  state_.setLocalSecrets({identity, ca_bundle});

  auto names = [](const weft::v1::Bootstrap& config) {
    std::vector<std::string> out;
    for (const auto& secret : config.static_resources().secrets()) {
      out.push_back(secret.name());
    }
    return out;
  };
  EXPECT_EQ(names(state_.assemble()), (std::vector<std::string>{"identity", "trust-bundle"}));
  EXPECT_EQ(names(state_.assembleApplied()),
            (std::vector<std::string>{"identity", "trust-bundle"}));

  // The control plane's trust-bundle replaces the CA's.
  weft::v1::Secret delivered;
  delivered.set_name("trust-bundle");
  delivered.mutable_validation_context()->set_trusted_ca_file("/etc/mesh/roots.pem");
  ASSERT_TRUE(state_.onResponse(response(XdsType::kSecret, "s1", "1", delivered)).accepted);
  const weft::v1::Bootstrap assembled = state_.assemble();
  EXPECT_EQ(names(assembled), (std::vector<std::string>{"trust-bundle", "identity"}));
  EXPECT_EQ(assembled.static_resources().secrets(0).validation_context().trusted_ca_file(),
            "/etc/mesh/roots.pem");

  // What is persisted is the control plane's alone: the key never reaches the disk.
  const weft::v1::PersistedResources persisted_resources = state_.persisted();
  for (const auto& persisted : persisted_resources.responses()) {
    for (const auto& any : persisted.resources()) {
      weft::v1::Secret secret;
      ASSERT_TRUE(any.UnpackTo(&secret));
      EXPECT_NE(secret.name(), "identity");
    }
  }
}

TEST_F(AdsStateTest, SameVersionAgainChangesNothing) {
  ASSERT_TRUE(state_.onResponse(response(XdsType::kCluster, "c1", "1", edsCluster("a"))).accepted);
  auto outcome = state_.onResponse(response(XdsType::kCluster, "c1", "7", edsCluster("a")));
  EXPECT_TRUE(outcome.accepted);
  EXPECT_TRUE(outcome.unchanged);
  EXPECT_EQ(outcome.reply.response_nonce(), "7");
}

TEST_F(AdsStateTest, PersistedStateRestoresAndReconnectCarriesVersions) {
  ASSERT_TRUE(state_.onResponse(response(XdsType::kCluster, "c1", "1", edsCluster("a"))).accepted);
  ASSERT_TRUE(
      state_.onResponse(response(XdsType::kEndpoints, "e1", "2", endpoints("a", 9080))).accepted);
  ASSERT_TRUE(
      state_.onResponse(response(XdsType::kListener, "l1", "3", listener("outbound", 18001, "r")))
          .accepted);
  ASSERT_TRUE(state_.onResponse(response(XdsType::kRoute, "r1", "4", routes("r", "a"))).accepted);

  AdsState restored(bootstrap(), build());
  std::string error;
  ASSERT_TRUE(restored.restore(state_.persisted(), error)) << error;
  EXPECT_EQ(restored.assemble().SerializeAsString(), state_.assemble().SerializeAsString());
  auto requests = restored.streamRequests();
  ASSERT_EQ(requests.size(), 4u);
  for (const auto& request : requests) {
    EXPECT_FALSE(request.version_info().empty()) << request.type_url();
    EXPECT_TRUE(request.response_nonce().empty());
  }
  EXPECT_EQ(requests[1].resource_names(0), "a");  // endpoints, by name
}

TEST_F(AdsStateTest, CorruptPersistedResponseIsRefusedWhole) {
  weft::v1::PersistedResources persisted;
  *persisted.add_responses() = response(XdsType::kCluster, "c1", "1", edsCluster("a"));
  *persisted.add_responses() = response(XdsType::kRoute, "r1", "2", routes("r", "a"));
  persisted.mutable_responses(1)->mutable_resources(0)->set_value("\xff\xff garbage");
  std::string error;
  EXPECT_FALSE(state_.restore(persisted, error));
  EXPECT_NE(error.find("RouteConfiguration"), std::string::npos) << error;
  EXPECT_FALSE(state_.hasDynamicResources());
}

TEST_F(AdsStateTest, UnknownTypeIsNackedAsUnimplemented) {
  weft::v1::DiscoveryResponse unknown;
  unknown.set_type_url("type.googleapis.com/weft.v1.Future");
  unknown.set_version_info("x");
  unknown.set_nonce("1");
  auto outcome = state_.onResponse(unknown);
  EXPECT_FALSE(outcome.accepted);
  EXPECT_EQ(outcome.reply.error_detail().code(), 12);
}

}  // namespace
}  // namespace weft::proxy::xds
