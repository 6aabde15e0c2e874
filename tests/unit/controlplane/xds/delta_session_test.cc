#include "controlplane/xds/delta_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "weft/v1/cluster.pb.h"
#include "weft/v1/endpoint.pb.h"
#include "weft/v1/listener.pb.h"
#include "weft/v1/route.pb.h"
#include "weft/v1/secret.pb.h"

namespace weft::controlplane {
namespace {

using Names = std::vector<std::string>;

constexpr auto kSecret = ResourceType::kSecret;
constexpr auto kCluster = ResourceType::kCluster;
constexpr auto kEndpoints = ResourceType::kEndpoints;
constexpr auto kListener = ResourceType::kListener;
constexpr auto kRoute = ResourceType::kRoute;

BuiltResourcePtr cluster(const std::string& name, int timeout_seconds = 1) {
  weft::v1::Cluster message;
  message.set_name(name);
  message.mutable_connect_timeout()->set_seconds(timeout_seconds);
  return buildResource(kCluster, name, message);
}

BuiltResourcePtr endpoints(const std::string& name, uint32_t port) {
  weft::v1::ClusterLoadAssignment message;
  message.set_cluster_name(name);
  auto* endpoint = message.add_endpoints()->add_lb_endpoints()->mutable_endpoint();
  endpoint->mutable_address()->set_address("127.0.0.1");
  endpoint->mutable_address()->set_port(port);
  return buildResource(kEndpoints, name, message);
}

BuiltResourcePtr listener(const std::string& name, uint32_t port) {
  weft::v1::Listener message;
  message.set_name(name);
  message.mutable_address()->set_address("127.0.0.1");
  message.mutable_address()->set_port(port);
  return buildResource(kListener, name, message);
}

BuiltResourcePtr route(const std::string& name, const std::string& cluster_name) {
  weft::v1::RouteConfiguration message;
  message.set_name(name);
  auto* vhost = message.add_virtual_hosts();
  vhost->set_name("v");
  vhost->add_domains("*");
  auto* r = vhost->add_routes();
  r->mutable_match()->set_prefix("/");
  r->mutable_route()->set_cluster(cluster_name);
  return buildResource(kRoute, name, message);
}

BuiltResourcePtr secret(const std::string& name) {
  weft::v1::Secret message;
  message.set_name(name);
  return buildResource(kSecret, name, message);
}

std::shared_ptr<ProxyResources> resources(const std::vector<BuiltResourcePtr>& list) {
  auto out = std::make_shared<ProxyResources>();
  for (const auto& resource : list) {
    out->of(resource->type).push_back(resource);
  }
  for (auto& of_type : out->by_type) {
    std::sort(
        of_type.begin(), of_type.end(),
        [](const BuiltResourcePtr& a, const BuiltResourcePtr& b) { return a->name < b->name; });
  }
  return out;
}

// The names of the resources a response carries, in order.
Names names(const weft::v1::DeltaDiscoveryResponse& response) {
  Names out;
  for (const auto& resource : response.resources()) {
    out.push_back(resource.name());
  }
  return out;
}

Names removed(const weft::v1::DeltaDiscoveryResponse& response) {
  return {response.removed_resources().begin(), response.removed_resources().end()};
}

class DeltaSessionTest : public ::testing::Test {
 protected:
  DeltaSessionTest()
      : session_(
            "cp-test", [this](weft::v1::DeltaDiscoveryResponse&& r) { sent_.push_back(r); },
            events()) {}

  SessionEvents events() {
    SessionEvents out;
    out.on_push = [this](ResourceType type) { pushes_.push_back(type); };
    out.on_nack = [this](ResourceType type, const weft::v1::ErrorDetail&) {
      nacked_.push_back(type);
    };
    out.on_ack = [this](ResourceType type, std::chrono::steady_clock::time_point) {
      acked_.push_back(type);
    };
    return out;
  }

  weft::v1::DeltaDiscoveryRequest request(ResourceType type, const Names& subscribe = {},
                                          const Names& unsubscribe = {},
                                          const std::string& nonce = {}) {
    weft::v1::DeltaDiscoveryRequest out;
    if (first_) {
      out.mutable_node()->set_id("proxy-a");
      out.mutable_node()->set_namespace_("default");
      first_ = false;
    }
    out.set_type_url(std::string(typeUrl(type)));
    for (const auto& name : subscribe) {
      out.add_resource_names_subscribe(name);
    }
    for (const auto& name : unsubscribe) {
      out.add_resource_names_unsubscribe(name);
    }
    out.set_response_nonce(nonce);
    return out;
  }

  void send(const weft::v1::DeltaDiscoveryRequest& r) { ASSERT_EQ(session_.onRequest(r), ""); }

  void ack(const weft::v1::DeltaDiscoveryResponse& response) {
    send(request(*typeFromUrl(response.type_url()), {}, {}, response.nonce()));
  }

  void nack(const weft::v1::DeltaDiscoveryResponse& response, const std::string& message) {
    auto r = request(*typeFromUrl(response.type_url()), {}, {}, response.nonce());
    r.mutable_error_detail()->set_code(3);
    r.mutable_error_detail()->set_message(message);
    send(r);
  }

  void update(const std::vector<BuiltResourcePtr>& list) {
    session_.onResources(resources(list), std::chrono::steady_clock::now());
  }

  bool first_ = true;
  std::vector<weft::v1::DeltaDiscoveryResponse> sent_;
  std::vector<ResourceType> pushes_;
  std::vector<ResourceType> nacked_;
  std::vector<ResourceType> acked_;
  DeltaSession session_;
};

TEST_F(DeltaSessionTest, FirstRequestMustCarryTheNode) {
  weft::v1::DeltaDiscoveryRequest r;
  r.set_type_url(std::string(typeUrl(kCluster)));
  r.add_resource_names_subscribe("*");
  EXPECT_NE(session_.onRequest(r).find("must carry the node"), std::string::npos);
  EXPECT_FALSE(session_.hasNode());
}

TEST_F(DeltaSessionTest, InvalidRequestEndsTheStreamWithTheField) {
  auto bad_type = request(kCluster, {"*"});
  bad_type.set_type_url("not a type url");
  EXPECT_NE(session_.onRequest(bad_type).find("type_url"), std::string::npos);

  auto duplicates = request(kEndpoints, {"a", "a"});
  duplicates.mutable_node()->set_id("proxy-a");
  EXPECT_NE(session_.onRequest(duplicates).find("resource_names_subscribe"), std::string::npos);
}

TEST_F(DeltaSessionTest, UnknownTypeIsIgnored) {
  update({cluster("a")});
  auto r = request(kCluster, {"*"});
  r.set_type_url("type.googleapis.com/weft.v1.FutureThing");
  EXPECT_EQ(session_.onRequest(r), "");
  EXPECT_TRUE(session_.hasNode());
  EXPECT_TRUE(sent_.empty());
  // The stream goes on for the types both sides know.
  send(request(kCluster, {"*"}));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(names(sent_[0]), Names{"a"});
}

TEST_F(DeltaSessionTest, WildcardSubscriptionGetsEveryResource) {
  send(request(kCluster, {"*"}));
  EXPECT_TRUE(sent_.empty());  // waits for the first configuration
  const auto a = cluster("a");
  const auto b = cluster("b");
  update({b, a});
  ASSERT_EQ(sent_.size(), 1u);
  const auto& response = sent_[0];
  EXPECT_EQ(response.type_url(), typeUrl(kCluster));
  EXPECT_EQ(names(response), (Names{"a", "b"}));
  EXPECT_TRUE(removed(response).empty());
  EXPECT_EQ(response.nonce(), "1");
  EXPECT_EQ(response.control_plane(), "cp-test");
  EXPECT_EQ(response.system_version_info().size(), 16u);
  EXPECT_EQ(response.resources(0).version(), a->version);
  EXPECT_EQ(response.resources(0).resource().type_url(), typeUrl(kCluster));
  EXPECT_EQ(response.resources(0).resource().value(), a->bytes);
  EXPECT_EQ(response.resources(1).resource().value(), b->bytes);

  const TypeState& state = session_.state(kCluster);
  EXPECT_TRUE(state.subscribed);
  EXPECT_TRUE(state.wildcard);
  EXPECT_TRUE(state.names.empty());
  EXPECT_EQ(state.sent_version, response.system_version_info());
  EXPECT_EQ(state.pending_nonce, "1");
  EXPECT_EQ(state.responses, 1u);
  EXPECT_EQ(pushes_, std::vector<ResourceType>{kCluster});

  ack(response);
  EXPECT_EQ(session_.state(kCluster).acked_version, response.system_version_info());
  EXPECT_EQ(session_.state(kCluster).pending_nonce, "");
  EXPECT_EQ(session_.state(kCluster).acks, 1u);
  EXPECT_EQ(acked_, std::vector<ResourceType>{kCluster});
}

TEST_F(DeltaSessionTest, EmptyWildcardSubscriptionIsStillAnswered) {
  update({cluster("a")});
  send(request(kListener, {"*"}));
  ASSERT_EQ(sent_.size(), 1u);  // the proxy's initial fetch of listeners ends here
  EXPECT_EQ(sent_[0].type_url(), typeUrl(kListener));
  EXPECT_EQ(sent_[0].resources_size(), 0);
  EXPECT_EQ(sent_[0].removed_resources_size(), 0);
}

TEST_F(DeltaSessionTest, ByNameSubscriptionGetsOnlyThoseNames) {
  update({endpoints("a", 1), endpoints("b", 2), endpoints("c", 3)});
  send(request(kEndpoints, {"b", "missing"}));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(names(sent_[0]), Names{"b"});
  // A subscribed name the control plane does not have is said not to exist, once.
  EXPECT_EQ(removed(sent_[0]), Names{"missing"});
  EXPECT_EQ(session_.state(kEndpoints).names, (std::set<std::string>{"b", "missing"}));
  EXPECT_FALSE(session_.state(kEndpoints).wildcard);
  ack(sent_[0]);

  // Changes of names the proxy did not ask for send nothing.
  update({endpoints("a", 9), endpoints("b", 2), endpoints("c", 8)});
  EXPECT_EQ(sent_.size(), 1u);
  // Another name added to the subscription: only it is answered.
  send(request(kEndpoints, {"c"}));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(names(sent_[1]), Names{"c"});
  EXPECT_TRUE(removed(sent_[1]).empty());
  ack(sent_[1]);
  // The missing name appears: it is sent.
  update({endpoints("a", 9), endpoints("b", 2), endpoints("c", 8), endpoints("missing", 4)});
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(names(sent_[2]), Names{"missing"});
  EXPECT_TRUE(removed(sent_[2]).empty());
}

TEST_F(DeltaSessionTest, ChangeSendsOnlyTheChangedResource) {
  update({cluster("a"), cluster("b"), cluster("c")});
  send(request(kCluster, {"*"}));
  ack(sent_[0]);
  // Every resource rebuilt (new objects), only b with new content.
  const auto b2 = cluster("b", 2);
  update({cluster("a"), b2, cluster("c")});
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(names(sent_[1]), Names{"b"});
  EXPECT_EQ(sent_[1].resources(0).version(), b2->version);
  EXPECT_EQ(sent_[1].resources(0).resource().value(), b2->bytes);
  EXPECT_TRUE(removed(sent_[1]).empty());
  EXPECT_NE(sent_[1].system_version_info(), sent_[0].system_version_info());
}

TEST_F(DeltaSessionTest, UnchangedResourceIsNeverResent) {
  const auto a = cluster("a");
  update({a});
  send(request(kCluster, {"*"}));
  ack(sent_[0]);
  update({a});             // the same object
  update({cluster("a")});  // the same content in a new object
  EXPECT_EQ(sent_.size(), 1u);
  // A new subscription of another type does not disturb this one.
  send(request(kListener, {"*"}));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].type_url(), typeUrl(kListener));
}

TEST_F(DeltaSessionTest, RemovalIsAnnouncedOnce) {
  update({cluster("a"), cluster("b")});
  send(request(kCluster, {"*"}));
  ack(sent_[0]);
  update({cluster("a")});
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_TRUE(names(sent_[1]).empty());
  EXPECT_EQ(removed(sent_[1]), Names{"b"});
  ack(sent_[1]);
  update({cluster("a")});
  update({cluster("a", 1)});
  EXPECT_EQ(sent_.size(), 2u);
  // It comes back: sent again.
  update({cluster("a"), cluster("b")});
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(names(sent_[2]), Names{"b"});
}

TEST_F(DeltaSessionTest, ReconnectWithInitialVersionsGetsOnlyTheDifferences) {
  const auto a = cluster("a");
  const auto b_old = cluster("b", 1);
  const auto b_new = cluster("b", 2);
  update({a, b_new, cluster("c")});
  auto r = request(kCluster, {"*"});
  (*r.mutable_initial_resource_versions())["a"] = a->version;
  (*r.mutable_initial_resource_versions())["b"] = b_old->version;
  (*r.mutable_initial_resource_versions())["gone"] = "0123456789abcdef";
  send(r);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(names(sent_[0]), (Names{"b", "c"}));
  EXPECT_EQ(removed(sent_[0]), Names{"gone"});
  // What the proxy reported is what it is known to run until it acknowledges more.
  EXPECT_FALSE(session_.state(kCluster).acked_version.empty());
  EXPECT_NE(session_.state(kCluster).acked_version, sent_[0].system_version_info());
}

TEST_F(DeltaSessionTest, ReconnectOfByNameTypeCountsOnlySubscribedNames) {
  const auto e1 = endpoints("e1", 1);
  const auto other = endpoints("other", 5);
  update({e1, endpoints("e2", 2), other});
  auto r = request(kEndpoints, {"e1", "e2", "e3"});
  (*r.mutable_initial_resource_versions())["e1"] = e1->version;
  (*r.mutable_initial_resource_versions())["e2"] = endpoints("e2", 1)->version;
  (*r.mutable_initial_resource_versions())["e3"] = "0123456789abcdef";     // gone
  (*r.mutable_initial_resource_versions())["other"] = other->version;      // not asked for
  (*r.mutable_initial_resource_versions())["stale"] = "0123456789abcdef";  // not asked for
  send(r);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(names(sent_[0]), Names{"e2"});
  EXPECT_EQ(removed(sent_[0]), Names{"e3"});
  ack(sent_[0]);
  // The proxy reported "other" without asking for it: when it does ask, it gets it.
  send(request(kEndpoints, {"other"}));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(names(sent_[1]), Names{"other"});
}

TEST_F(DeltaSessionTest, ReconnectWithEverythingCurrentIsConfirmedWithoutResources) {
  const auto a = cluster("a");
  const auto b = cluster("b");
  update({a, b});
  send(request(kCluster, {"*"}));
  const std::string version = sent_[0].system_version_info();

  std::vector<weft::v1::DeltaDiscoveryResponse> again;
  DeltaSession reconnected("cp-2",
                           [&](weft::v1::DeltaDiscoveryResponse&& r) { again.push_back(r); });
  reconnected.onResources(resources({cluster("a"), cluster("b")}), {});
  weft::v1::DeltaDiscoveryRequest r;
  r.mutable_node()->set_id("proxy-a");
  r.set_type_url(std::string(typeUrl(kCluster)));
  r.add_resource_names_subscribe("*");
  (*r.mutable_initial_resource_versions())["a"] = a->version;
  (*r.mutable_initial_resource_versions())["b"] = b->version;
  ASSERT_EQ(reconnected.onRequest(r), "");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].resources_size(), 0);
  EXPECT_EQ(again[0].removed_resources_size(), 0);
  // The same content has the same system version on every stream and replica.
  EXPECT_EQ(again[0].system_version_info(), version);
  EXPECT_EQ(reconnected.state(kCluster).acked_version, version);
  // Nothing is sent for it later either.
  r.clear_node();
  r.clear_resource_names_subscribe();
  r.clear_initial_resource_versions();
  r.set_response_nonce(again[0].nonce());
  ASSERT_EQ(reconnected.onRequest(r), "");
  reconnected.onResources(resources({cluster("a"), cluster("b")}), {});
  EXPECT_EQ(again.size(), 1u);
}

TEST_F(DeltaSessionTest, NackedContentIsNotResentButTheNextChangeIs) {
  update({cluster("a", 1), cluster("b", 1)});
  send(request(kCluster, {"*"}));
  ack(sent_[0]);
  const std::string good = sent_[0].system_version_info();
  update({cluster("a", 2), cluster("b", 2)});
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(names(sent_[1]), (Names{"a", "b"}));
  nack(sent_[1], "bad");

  const TypeState& state = session_.state(kCluster);
  EXPECT_EQ(state.rejected_version, sent_[1].system_version_info());
  EXPECT_EQ(state.sent_version, sent_[1].system_version_info());
  EXPECT_EQ(state.acked_version, good);
  EXPECT_EQ(state.last_error.message(), "bad");
  EXPECT_EQ(state.nacks, 1u);
  EXPECT_EQ(state.pending_nonce, "");
  EXPECT_EQ(nacked_, std::vector<ResourceType>{kCluster});

  update({cluster("a", 2), cluster("b", 2)});  // the rejected content again
  EXPECT_EQ(sent_.size(), 2u);
  update({cluster("a", 3), cluster("b", 2)});  // a changes again; b is still the rejected one
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(names(sent_[2]), Names{"a"});
  EXPECT_EQ(sent_[2].resources(0).version(), cluster("a", 3)->version);
  // The proxy still runs b version 1: the system version says so.
  std::vector<weft::v1::DeltaDiscoveryResponse> fresh;
  DeltaSession other("cp-2", [&](weft::v1::DeltaDiscoveryResponse&& r) { fresh.push_back(r); });
  other.onResources(resources({cluster("a", 3), cluster("b", 1)}), {});
  auto r = request(kCluster, {"*"});
  r.mutable_node()->set_id("proxy-b");
  ASSERT_EQ(other.onRequest(r), "");
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(sent_[2].system_version_info(), fresh[0].system_version_info());
}

TEST_F(DeltaSessionTest, NackLeavesTheProxyOnItsPreviousVersions) {
  update({cluster("a", 1), cluster("b", 1)});
  send(request(kCluster, {"*"}));
  ack(sent_[0]);
  update({cluster("a", 2), cluster("b", 1)});
  ASSERT_EQ(sent_.size(), 2u);
  nack(sent_[1], "bad");
  // Back to what the proxy still runs: nothing to send.
  update({cluster("a", 1), cluster("b", 1)});
  EXPECT_EQ(sent_.size(), 2u);
  update({cluster("a", 4), cluster("b", 1)});
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(names(sent_[2]), Names{"a"});
}

TEST_F(DeltaSessionTest, RejectedContentComingBackBeforeTheNackIsNotResent) {
  update({cluster("a", 1)});
  send(request(kCluster, {"*"}));
  ack(sent_[0]);
  update({cluster("a", 2)});
  ASSERT_EQ(sent_.size(), 2u);
  // While the proxy checks version 2, the configuration moves on and comes back to it.
  update({cluster("a", 3)});
  update({cluster("a", 2)});
  nack(sent_[1], "bad");
  EXPECT_EQ(sent_.size(), 2u);  // version 2 again would only be rejected again
  update({cluster("a", 4)});
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(sent_[2].resources(0).version(), cluster("a", 4)->version);
}

TEST_F(DeltaSessionTest, NackedRemovalIsNotRepeated) {
  update({cluster("a"), cluster("b", 1)});
  send(request(kCluster, {"*"}));
  ack(sent_[0]);
  update({cluster("a")});
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(removed(sent_[1]), Names{"b"});
  nack(sent_[1], "cannot remove");
  update({cluster("a", 1)});
  EXPECT_EQ(sent_.size(), 2u);
  // The proxy kept b version 1: its return is no change.
  update({cluster("a"), cluster("b", 1)});
  EXPECT_EQ(sent_.size(), 2u);
  update({cluster("a"), cluster("b", 2)});
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(names(sent_[2]), Names{"b"});
}

TEST_F(DeltaSessionTest, OneUnacknowledgedResponsePerTypeAndChangesCoalesce) {
  update({cluster("a", 1)});
  send(request(kCluster, {"*"}));
  ASSERT_EQ(sent_.size(), 1u);
  update({cluster("a", 2)});
  update({cluster("a", 3), cluster("b")});
  EXPECT_EQ(sent_.size(), 1u);  // waiting for the ACK
  ack(sent_[0]);
  ASSERT_EQ(sent_.size(), 2u);  // both changes in one response
  EXPECT_EQ(names(sent_[1]), (Names{"a", "b"}));
  EXPECT_EQ(sent_[1].resources(0).version(), cluster("a", 3)->version);

  // A change undone before the ACK sends nothing.
  update({cluster("a", 7), cluster("b")});
  update({cluster("a", 3), cluster("b")});
  ack(sent_[1]);
  EXPECT_EQ(sent_.size(), 2u);
}

TEST_F(DeltaSessionTest, TypesGoInPushOrderEachWaitingForTheAckOfTheEarlierOne) {
  send(request(kListener, {"*"}));
  send(request(kEndpoints, {"a"}));
  send(request(kCluster, {"*"}));
  send(request(kSecret, {"trust-bundle"}));
  EXPECT_TRUE(sent_.empty());
  update({secret("trust-bundle"), cluster("a"), endpoints("a", 1), listener("outbound", 15001)});
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].type_url(), typeUrl(kSecret));
  ack(sent_.back());
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].type_url(), typeUrl(kCluster));
  ack(sent_.back());
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(sent_[2].type_url(), typeUrl(kEndpoints));
  ack(sent_.back());
  ASSERT_EQ(sent_.size(), 4u);
  EXPECT_EQ(sent_[3].type_url(), typeUrl(kListener));

  // One change touching clusters and listeners: the cluster goes first again.
  ack(sent_.back());
  update({secret("trust-bundle"), cluster("a", 2), endpoints("a", 1), listener("outbound", 15002)});
  ASSERT_EQ(sent_.size(), 5u);
  EXPECT_EQ(sent_[4].type_url(), typeUrl(kCluster));
  ack(sent_.back());
  ASSERT_EQ(sent_.size(), 6u);
  EXPECT_EQ(sent_[5].type_url(), typeUrl(kListener));
}

TEST_F(DeltaSessionTest, StaleNonceCountsOnlyForTheSubscription) {
  update({endpoints("a", 1), endpoints("b", 2), endpoints("c", 3)});
  send(request(kEndpoints, {"a"}));
  ASSERT_EQ(sent_.size(), 1u);
  const std::string pending = sent_[0].nonce();

  // An answer to another nonce neither acknowledges nor rejects the pending response...
  send(request(kEndpoints, {}, {}, "999"));
  auto stale_nack = request(kEndpoints, {}, {}, "998");
  stale_nack.mutable_error_detail()->set_code(3);
  stale_nack.mutable_error_detail()->set_message("stale");
  send(stale_nack);
  EXPECT_EQ(session_.state(kEndpoints).pending_nonce, pending);
  EXPECT_EQ(session_.state(kEndpoints).acks, 0u);
  EXPECT_EQ(session_.state(kEndpoints).nacks, 0u);
  EXPECT_TRUE(nacked_.empty());
  EXPECT_EQ(sent_.size(), 1u);

  // ...but its subscription changes count, answered after the ACK.
  send(request(kEndpoints, {"b"}, {}, "997"));
  EXPECT_EQ(sent_.size(), 1u);
  ack(sent_[0]);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(names(sent_[1]), Names{"b"});

  // A late answer to an older response does not touch the newer one.
  nack(sent_[0], "late");
  EXPECT_EQ(session_.state(kEndpoints).pending_nonce, sent_[1].nonce());
  EXPECT_EQ(session_.state(kEndpoints).nacks, 0u);
}

TEST_F(DeltaSessionTest, UnsubscribeStopsUpdates) {
  update({endpoints("a", 1), endpoints("b", 1)});
  send(request(kEndpoints, {"a", "b"}));
  ack(sent_[0]);
  send(request(kEndpoints, {}, {"a"}));
  EXPECT_EQ(sent_.size(), 1u);  // nothing to say to a pure unsubscription
  EXPECT_EQ(session_.state(kEndpoints).names, std::set<std::string>{"b"});

  update({endpoints("a", 2), endpoints("b", 1)});
  EXPECT_EQ(sent_.size(), 1u);
  update({endpoints("b", 1)});  // a removed: not announced, the proxy dropped it itself
  EXPECT_EQ(sent_.size(), 1u);
  update({endpoints("a", 2), endpoints("b", 2)});
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(names(sent_[1]), Names{"b"});
  ack(sent_[1]);

  // Subscribing again starts from nothing: the resource is sent although it did not change.
  send(request(kEndpoints, {}, {"b"}));
  send(request(kEndpoints, {"b"}));
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(names(sent_[2]), Names{"b"});
  ack(sent_[2]);
  send(request(kEndpoints, {"a"}));
  ASSERT_EQ(sent_.size(), 4u);
  EXPECT_EQ(names(sent_[3]), Names{"a"});
}

TEST_F(DeltaSessionTest, UnsubscribingTheWildcardStopsUpdates) {
  update({cluster("a")});
  send(request(kCluster, {"*"}));
  ack(sent_[0]);
  send(request(kCluster, {}, {"*"}));
  EXPECT_FALSE(session_.state(kCluster).subscribed);
  EXPECT_FALSE(session_.state(kCluster).wildcard);
  update({cluster("a", 2), cluster("b")});
  update({});
  EXPECT_EQ(sent_.size(), 1u);
  send(request(kCluster, {"*"}));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_TRUE(names(sent_[1]).empty());
  EXPECT_TRUE(removed(sent_[1]).empty());  // it held nothing any more
}

TEST_F(DeltaSessionTest, RemovedClusterStaysUntilRoutesMovedOffIt) {
  update({cluster("old"), endpoints("old", 1), route("outbound/80", "old"),
          listener("outbound", 15001)});
  send(request(kCluster, {"*"}));
  ack(sent_.back());
  send(request(kEndpoints, {"old"}));
  ack(sent_.back());
  send(request(kListener, {"*"}));
  ack(sent_.back());
  send(request(kRoute, {"outbound/80"}));
  ack(sent_.back());
  const size_t before = sent_.size();

  // The route moves from "old" to "new", and "old" goes away with its endpoints.
  update({cluster("new"), endpoints("new", 2), route("outbound/80", "new"),
          listener("outbound", 15001)});
  ASSERT_EQ(sent_.size(), before + 1);
  EXPECT_EQ(sent_.back().type_url(), typeUrl(kCluster));
  EXPECT_EQ(names(sent_.back()), Names{"new"});
  EXPECT_TRUE(removed(sent_.back()).empty());  // "old" stays for now
  ack(sent_.back());

  // Endpoints of "old" stay as long as the cluster does; the route moves.
  ASSERT_EQ(sent_.size(), before + 2);
  EXPECT_EQ(sent_.back().type_url(), typeUrl(kRoute));
  EXPECT_EQ(names(sent_.back()), Names{"outbound/80"});
  ack(sent_.back());

  // Nothing refers to "old" any more: now it goes, and then its endpoints.
  ASSERT_EQ(sent_.size(), before + 3);
  EXPECT_EQ(sent_.back().type_url(), typeUrl(kCluster));
  EXPECT_TRUE(names(sent_.back()).empty());
  EXPECT_EQ(removed(sent_.back()), Names{"old"});
  ack(sent_.back());
  ASSERT_EQ(sent_.size(), before + 4);
  EXPECT_EQ(sent_.back().type_url(), typeUrl(kEndpoints));
  EXPECT_EQ(removed(sent_.back()), Names{"old"});
  ack(sent_.back());
  EXPECT_EQ(sent_.size(), before + 4);
}

TEST_F(DeltaSessionTest, RemovedClusterGoesAtOnceWhenNothingMoves) {
  update({cluster("a"), cluster("b"), listener("outbound", 15001)});
  send(request(kCluster, {"*"}));
  ack(sent_.back());
  send(request(kListener, {"*"}));
  ack(sent_.back());
  update({cluster("a"), listener("outbound", 15001)});
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(removed(sent_.back()), Names{"b"});
}

TEST_F(DeltaSessionTest, LargeSubscriptionsSendOnlyTheChange) {
  constexpr int kCount = 5000;
  std::vector<BuiltResourcePtr> all;
  Names subscribed;
  for (int i = 0; i < kCount; ++i) {
    all.push_back(endpoints("service-" + std::to_string(i), 1000));
    subscribed.push_back(all.back()->name);
  }
  update(all);
  send(request(kEndpoints, subscribed));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].resources_size(), kCount);
  ack(sent_[0]);

  auto changed = all;
  changed[1234] = endpoints("service-1234", 2000);
  update(changed);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(names(sent_[1]), Names{"service-1234"});
  ack(sent_[1]);

  // Everything rebuilt with the same content: nothing to send.
  std::vector<BuiltResourcePtr> rebuilt;
  for (const auto& resource : changed) {
    rebuilt.push_back(endpoints(resource->name, resource->name == "service-1234" ? 2000 : 1000));
  }
  update(rebuilt);
  EXPECT_EQ(sent_.size(), 2u);
}

TEST_F(DeltaSessionTest, FewNamesAmongManyResourcesSeeOnlyTheirChanges) {
  std::vector<BuiltResourcePtr> all;
  for (int i = 0; i < 3000; ++i) {
    all.push_back(endpoints("service-" + std::to_string(i), 1000));
  }
  update(all);
  send(request(kEndpoints, {"service-7", "service-2999"}));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(names(sent_[0]), (Names{"service-2999", "service-7"}));
  ack(sent_[0]);

  auto changed = all;
  changed[8] = endpoints("service-8", 2000);
  update(changed);
  EXPECT_EQ(sent_.size(), 1u);
  changed[7] = endpoints("service-7", 2000);
  changed.pop_back();  // service-2999 goes away
  update(changed);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(names(sent_[1]), Names{"service-7"});
  EXPECT_EQ(removed(sent_[1]), Names{"service-2999"});
}

}  // namespace
}  // namespace weft::controlplane
