#include "controlplane/xds/sotw_session.h"

#include <gtest/gtest.h>

#include <vector>

#include "weft/v1/cluster.pb.h"
#include "weft/v1/endpoint.pb.h"
#include "weft/v1/listener.pb.h"
#include "weft/v1/route.pb.h"

namespace weft::controlplane {
namespace {

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

std::shared_ptr<ProxyResources> resources(std::vector<BuiltResourcePtr> list) {
  auto out = std::make_shared<ProxyResources>();
  for (auto& resource : list) {
    out->of(resource->type).push_back(resource);
  }
  for (auto& of_type : out->by_type) {
    std::sort(
        of_type.begin(), of_type.end(),
        [](const BuiltResourcePtr& a, const BuiltResourcePtr& b) { return a->name < b->name; });
  }
  return out;
}

class SotwSessionTest : public ::testing::Test {
 protected:
  SotwSessionTest()
      : session_("cp-test", [this](weft::v1::DiscoveryResponse&& r) { sent_.push_back(r); }) {}

  weft::v1::DiscoveryRequest request(ResourceType type, std::vector<std::string> names = {},
                                     std::string version = {}, std::string nonce = {}) {
    weft::v1::DiscoveryRequest out;
    if (first_) {
      out.mutable_node()->set_id("proxy-a");
      out.mutable_node()->set_namespace_("default");
      first_ = false;
    }
    out.set_type_url(std::string(typeUrl(type)));
    for (auto& name : names) {
      out.add_resource_names(name);
    }
    out.set_version_info(version);
    out.set_response_nonce(nonce);
    return out;
  }

  void send(const weft::v1::DiscoveryRequest& r) { ASSERT_EQ(session_.onRequest(r), ""); }

  void ack(const weft::v1::DiscoveryResponse& response, std::vector<std::string> names = {}) {
    send(request(*typeFromUrl(response.type_url()), names, response.version_info(),
                 response.nonce()));
  }

  std::vector<std::string> names(const weft::v1::DiscoveryResponse& response) {
    std::vector<std::string> out;
    for (const auto& any : response.resources()) {
      if (response.type_url() == typeUrl(kCluster)) {
        weft::v1::Cluster c;
        c.ParseFromString(any.value());
        out.push_back(c.name());
      } else if (response.type_url() == typeUrl(kEndpoints)) {
        weft::v1::ClusterLoadAssignment c;
        c.ParseFromString(any.value());
        out.push_back(c.cluster_name());
      } else if (response.type_url() == typeUrl(kRoute)) {
        weft::v1::RouteConfiguration c;
        c.ParseFromString(any.value());
        out.push_back(c.name());
      } else {
        weft::v1::Listener c;
        c.ParseFromString(any.value());
        out.push_back(c.name());
      }
    }
    return out;
  }

  void update(std::vector<BuiltResourcePtr> list) {
    session_.onResources(resources(std::move(list)), std::chrono::steady_clock::now());
  }

  bool first_ = true;
  std::vector<weft::v1::DiscoveryResponse> sent_;
  SotwSession session_;
};

TEST_F(SotwSessionTest, FirstRequestMustCarryTheNode) {
  weft::v1::DiscoveryRequest r;
  r.set_type_url(std::string(typeUrl(kCluster)));
  EXPECT_NE(session_.onRequest(r).find("must carry the node"), std::string::npos);
}

TEST_F(SotwSessionTest, InvalidRequestEndsTheStreamWithTheField) {
  auto r = request(kCluster);
  r.set_type_url("not a type url");
  EXPECT_NE(session_.onRequest(r).find("type_url"), std::string::npos);
}

TEST_F(SotwSessionTest, RequestsWaitForTheFirstConfiguration) {
  send(request(kCluster));
  EXPECT_TRUE(sent_.empty());
  update({cluster("a")});
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(names(sent_[0]), std::vector<std::string>{"a"});
  EXPECT_EQ(sent_[0].nonce(), "1");
  EXPECT_EQ(sent_[0].control_plane(), "cp-test");
  EXPECT_EQ(sent_[0].version_info().size(), 16u);
}

TEST_F(SotwSessionTest, UnchangedContentIsNotResentAndChangedContentIs) {
  update({cluster("a")});
  send(request(kCluster));
  ASSERT_EQ(sent_.size(), 1u);
  ack(sent_[0]);
  EXPECT_EQ(session_.state(kCluster).acked_version, sent_[0].version_info());
  update({cluster("a")});  // same content, a new generation
  EXPECT_EQ(sent_.size(), 1u);
  update({cluster("a", 2)});
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_NE(sent_[1].version_info(), sent_[0].version_info());
}

TEST_F(SotwSessionTest, OneUnacknowledgedResponsePerTypeAndChangesCoalesce) {
  update({cluster("a")});
  send(request(kCluster));
  ASSERT_EQ(sent_.size(), 1u);
  update({cluster("a", 2)});
  update({cluster("a", 3)});
  EXPECT_EQ(sent_.size(), 1u);  // waiting for the ACK
  ack(sent_[0]);
  ASSERT_EQ(sent_.size(), 2u);  // both changes in one response
  weft::v1::Cluster c;
  c.ParseFromString(sent_[1].resources(0).value());
  EXPECT_EQ(c.connect_timeout().seconds(), 3);
}

TEST_F(SotwSessionTest, ClustersGoBeforeListenersWaitingForTheirAck) {
  update({cluster("a"), listener("outbound", 15001)});
  send(request(kCluster));
  send(request(kListener));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].type_url(), typeUrl(kCluster));
  ack(sent_[0]);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].type_url(), typeUrl(kListener));
}

TEST_F(SotwSessionTest, RejectedVersionIsNotResentButTheNextChangeIs) {
  update({cluster("a")});
  send(request(kCluster));
  ack(sent_[0]);
  const std::string good = sent_[0].version_info();
  update({cluster("a", 2)});
  ASSERT_EQ(sent_.size(), 2u);
  auto nack = request(kCluster, {}, good, sent_[1].nonce());
  nack.mutable_error_detail()->set_code(3);
  nack.mutable_error_detail()->set_message("bad");
  nack.mutable_error_detail()->set_resource_name("a");
  send(nack);
  EXPECT_EQ(session_.state(kCluster).rejected_version, sent_[1].version_info());
  EXPECT_EQ(session_.state(kCluster).acked_version, good);
  EXPECT_EQ(session_.state(kCluster).last_error.message(), "bad");
  EXPECT_EQ(session_.state(kCluster).nacks, 1u);
  update({cluster("a", 2)});  // the rejected content again
  EXPECT_EQ(sent_.size(), 2u);
  update({cluster("a", 4)});
  EXPECT_EQ(sent_.size(), 3u);
}

TEST_F(SotwSessionTest, StaleNonceCountsOnlyForTheSubscription) {
  update({endpoints("a", 1), endpoints("b", 2)});
  send(request(kEndpoints, {"a"}));
  ASSERT_EQ(sent_.size(), 1u);
  // An answer to an older nonce does not acknowledge the pending response.
  send(request(kEndpoints, {"a"}, "whatever", "999"));
  EXPECT_EQ(session_.state(kEndpoints).pending_nonce, sent_[0].nonce());
  EXPECT_EQ(session_.state(kEndpoints).acks, 0u);
  // Its names still count: after the ACK, the new subscription is answered.
  send(request(kEndpoints, {"a", "b"}, "whatever", "998"));
  ack(sent_[0], {"a", "b"});
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(names(sent_[1]), (std::vector<std::string>{"a", "b"}));
}

TEST_F(SotwSessionTest, ByNameTypesCarryOnlySubscribedNames) {
  update({endpoints("a", 1), endpoints("b", 2), endpoints("c", 3)});
  send(request(kEndpoints, {"b", "missing"}));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(names(sent_[0]), std::vector<std::string>{"b"});
  // A change to an endpoint set the proxy does not subscribe to sends nothing.
  ack(sent_[0], {"b", "missing"});
  update({endpoints("a", 9), endpoints("b", 2), endpoints("c", 3)});
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(SotwSessionTest, ReconnectWithCurrentVersionIsConfirmedWithTheSameVersion) {
  update({cluster("a")});
  send(request(kCluster));
  const std::string version = sent_[0].version_info();

  std::vector<weft::v1::DiscoveryResponse> again;
  SotwSession reconnected("cp-test", [&](weft::v1::DiscoveryResponse&& r) { again.push_back(r); });
  reconnected.onResources(resources({cluster("a")}), {});
  auto r = request(kCluster, {}, version);
  r.mutable_node()->set_id("proxy-a");
  ASSERT_EQ(reconnected.onRequest(r), "");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].version_info(), version);
  EXPECT_EQ(reconnected.state(kCluster).acked_version, version);
}

TEST_F(SotwSessionTest, RemovedClusterStaysUntilRoutesMovedOffIt) {
  update({cluster("old"), route("outbound/80", "old"), listener("outbound", 15001)});
  send(request(kCluster));
  ack(sent_.back());
  send(request(kListener));
  ack(sent_.back());
  send(request(kRoute, {"outbound/80"}));
  ack(sent_.back(), {"outbound/80"});
  const size_t before = sent_.size();

  // The route moves from "old" to "new", and "old" goes away.
  update({cluster("new"), route("outbound/80", "new"), listener("outbound", 15001)});
  ASSERT_EQ(sent_.size(), before + 1);
  EXPECT_EQ(names(sent_.back()), (std::vector<std::string>{"new", "old"}));  // both for now
  ack(sent_.back());
  ASSERT_EQ(sent_.size(), before + 2);
  EXPECT_EQ(sent_.back().type_url(), typeUrl(kRoute));
  ack(sent_.back(), {"outbound/80"});
  ASSERT_EQ(sent_.size(), before + 3);
  EXPECT_EQ(sent_.back().type_url(), typeUrl(kCluster));
  EXPECT_EQ(names(sent_.back()), std::vector<std::string>{"new"});
}

TEST_F(SotwSessionTest, VersionsAreContentHashesIndependentOfTheStream) {
  update({cluster("a"), cluster("b")});
  send(request(kCluster));
  std::vector<weft::v1::DiscoveryResponse> other;
  SotwSession second("cp-2", [&](weft::v1::DiscoveryResponse&& r) { other.push_back(r); });
  second.onResources(resources({cluster("b"), cluster("a")}), {});
  auto r = request(kCluster);
  r.mutable_node()->set_id("proxy-b");
  ASSERT_EQ(second.onRequest(r), "");
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].version_info(), sent_[0].version_info());
}

TEST_F(SotwSessionTest, UnknownTypeIsIgnored) {
  update({cluster("a")});
  auto r = request(kCluster);
  r.set_type_url("type.googleapis.com/weft.v1.FutureThing");
  EXPECT_EQ(session_.onRequest(r), "");
  EXPECT_TRUE(sent_.empty());
}

}  // namespace
}  // namespace weft::controlplane
