// The discovery server over real gRPC on loopback: both stream variants, proxy status, and the
// end of streams at shutdown.
#include "controlplane/xds/discovery_server.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "controlplane/xds/proxy_status_service.h"
#include "weft/v1/cluster.pb.h"
#include "weft/v1/proxy_status.grpc.pb.h"

namespace weft::controlplane {
namespace {

std::shared_ptr<const ProxyResources> oneCluster(const std::string& name) {
  auto resources = std::make_shared<ProxyResources>();
  weft::v1::Cluster cluster;
  cluster.set_name(name);
  resources->of(ResourceType::kCluster)
      .push_back(buildResource(ResourceType::kCluster, name, cluster));
  return resources;
}

class DiscoveryServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<DiscoveryServer>(loop_, "cp-test", nullptr);
    status_service_ = std::make_unique<ProxyStatusService>(loop_, *server_, "cp-test");
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(server_.get());
    builder.RegisterService(status_service_.get());
    grpc_server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
    onLoop([this] {
      server_->setConfiguration([](const weft::v1::Node& node) { return oneCluster(node.id()); },
                                std::chrono::steady_clock::now());
    });
    thread_ = std::thread([this] { loop_.run(); });
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
    stub_ = weft::v1::AggregatedDiscoveryService::NewStub(channel_);
  }

  void TearDown() override {
    grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    work_.reset();
    thread_.join();
  }

  template <class F>
  void onLoop(F f) {
    boost::asio::post(loop_, std::move(f));
  }

  // Runs `f` on the loop and waits for its result.
  template <class F>
  auto fromLoop(F f) {
    std::promise<decltype(f())> promise;
    onLoop([&] { promise.set_value(f()); });
    return promise.get_future().get();
  }

  static std::unique_ptr<grpc::ClientContext> context() {
    auto out = std::make_unique<grpc::ClientContext>();
    out->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return out;
  }

  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      loop_.get_executor()};
  std::unique_ptr<DiscoveryServer> server_;
  std::unique_ptr<ProxyStatusService> status_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int port_ = 0;
  std::thread thread_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<weft::v1::AggregatedDiscoveryService::Stub> stub_;
};

TEST_F(DiscoveryServerTest, StateOfTheWorldStreamGetsItsResourcesAndAcks) {
  auto ctx = context();
  auto stream = stub_->StreamResources(ctx.get());
  weft::v1::DiscoveryRequest request;
  request.mutable_node()->set_id("proxy-a");
  request.set_type_url(std::string(typeUrl(ResourceType::kCluster)));
  ASSERT_TRUE(stream->Write(request));
  weft::v1::DiscoveryResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_EQ(response.resources_size(), 1);
  weft::v1::Cluster cluster;
  ASSERT_TRUE(response.resources(0).UnpackTo(&cluster));
  EXPECT_EQ(cluster.name(), "proxy-a");  // computed for this node

  weft::v1::DiscoveryRequest ack;
  ack.set_type_url(request.type_url());
  ack.set_version_info(response.version_info());
  ack.set_response_nonce(response.nonce());
  ASSERT_TRUE(stream->Write(ack));

  // proxy-status sees the ACK once the loop has handled it.
  auto stub = weft::v1::ProxyStatusService::NewStub(channel_);
  weft::v1::ListProxiesResponse status;
  for (int i = 0; i < 200; ++i) {
    status.Clear();
    auto status_ctx = context();
    ASSERT_TRUE(stub->ListProxies(status_ctx.get(), {}, &status).ok());
    if (status.proxies_size() == 1 && status.proxies(0).types_size() == 1 &&
        status.proxies(0).types(0).state() == weft::v1::TypeSyncStatus::SYNCED) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(status.proxies_size(), 1);
  EXPECT_EQ(status.control_plane(), "cp-test");
  EXPECT_EQ(status.proxies(0).node().id(), "proxy-a");
  EXPECT_EQ(status.proxies(0).types(0).state(), weft::v1::TypeSyncStatus::SYNCED);
  EXPECT_EQ(status.proxies(0).types(0).acked_version(), response.version_info());

  // A new configuration generation reaches the open stream.
  onLoop([this] {
    server_->setConfiguration([](const weft::v1::Node&) { return oneCluster("changed"); },
                              std::chrono::steady_clock::now());
  });
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.resources(0).UnpackTo(&cluster));
  EXPECT_EQ(cluster.name(), "changed");
  stream->WritesDone();
}

TEST_F(DiscoveryServerTest, DeltaStreamGetsResourcesWithVersions) {
  auto ctx = context();
  auto stream = stub_->DeltaResources(ctx.get());
  weft::v1::DeltaDiscoveryRequest request;
  request.mutable_node()->set_id("proxy-b");
  request.set_type_url(std::string(typeUrl(ResourceType::kCluster)));
  request.add_resource_names_subscribe("*");
  ASSERT_TRUE(stream->Write(request));
  weft::v1::DeltaDiscoveryResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_EQ(response.resources_size(), 1);
  EXPECT_EQ(response.resources(0).name(), "proxy-b");
  EXPECT_EQ(response.resources(0).version(),
            oneCluster("proxy-b")->of(ResourceType::kCluster)[0]->version);
  EXPECT_EQ(fromLoop([this] { return server_->status().size(); }), 1u);
  EXPECT_TRUE(fromLoop([this] { return server_->status()[0].delta; }));
  stream->WritesDone();
}

TEST_F(DiscoveryServerTest, StreamWithoutNodeEndsWithInvalidArgument) {
  auto ctx = context();
  auto stream = stub_->StreamResources(ctx.get());
  weft::v1::DiscoveryRequest request;
  request.set_type_url(std::string(typeUrl(ResourceType::kCluster)));
  ASSERT_TRUE(stream->Write(request));
  weft::v1::DiscoveryResponse response;
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("node"), std::string::npos);
}

TEST_F(DiscoveryServerTest, CloseAllEndsStreamsWithUnavailable) {
  auto ctx = context();
  auto stream = stub_->StreamResources(ctx.get());
  weft::v1::DiscoveryRequest request;
  request.mutable_node()->set_id("proxy-c");
  request.set_type_url(std::string(typeUrl(ResourceType::kCluster)));
  ASSERT_TRUE(stream->Write(request));
  weft::v1::DiscoveryResponse response;
  ASSERT_TRUE(stream->Read(&response));
  onLoop([this] { server_->closeAll(); });
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  // The stream is gone from the server's list once gRPC has finished with it.
  for (int i = 0; i < 200 && fromLoop([this] { return server_->connectedStreams(); }) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(fromLoop([this] { return server_->connectedStreams(); }), 0u);
}

}  // namespace
}  // namespace weft::controlplane
