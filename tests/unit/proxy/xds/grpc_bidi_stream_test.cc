// GrpcBidiStream against the real gRPC server library: the discovery call as the control
// plane serves it, on loopback.

#include "proxy/xds/grpc_bidi_stream.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "weft/v1/discovery.grpc.pb.h"

namespace weft::proxy::xds {
namespace {

using ::testing::HasSubstr;

constexpr auto kPatience = std::chrono::seconds(10);

using Stream = grpc::ServerReaderWriter<weft::v1::DiscoveryResponse, weft::v1::DiscoveryRequest>;

// A discovery service whose StreamResources runs the test's script.
class ScriptedService final : public weft::v1::AggregatedDiscoveryService::Service {
 public:
  std::function<grpc::Status(grpc::ServerContext*, Stream*)> script;

  grpc::Status StreamResources(grpc::ServerContext* context, Stream* stream) override {
    return script(context, stream);
  }
};

class GrpcBidiStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
  }

  void TearDown() override {
    if (stream_) {
      stream_->cancel();
    }
    io_.run_for(std::chrono::milliseconds(50));  // let cancelled operations finish
    stream_.reset();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  GrpcCallOptions options() const {
    GrpcCallOptions options;
    options.host = "127.0.0.1";
    options.port = static_cast<uint16_t>(port_);
    options.path = "/weft.v1.AggregatedDiscoveryService/StreamResources";
    options.user_agent = "weft-proxy/test";
    return options;
  }

  void open(GrpcCallOptions call_options) {
    GrpcBidiStream::Handlers handlers;
    handlers.on_message = [this](std::string bytes) {
      weft::v1::DiscoveryResponse response;
      ASSERT_TRUE(response.ParseFromString(bytes));
      responses_.push_back(response);
    };
    handlers.on_closed = [this](GrpcStatus status) {
      ++closed_count_;
      closed_ = status;
    };
    stream_ = std::make_shared<GrpcBidiStream>(io_, std::move(call_options), std::move(handlers));
    stream_->start();
  }

  void sendRequest(const std::string& type_url) {
    weft::v1::DiscoveryRequest request;
    request.set_type_url(type_url);
    stream_->send(request.SerializeAsString());
  }

  // Runs the io_context until `done` holds; fails after kPatience.
  void runUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(10));
      io_.restart();
    }
    ASSERT_TRUE(done()) << "not within " << kPatience.count() << " s";
  }

  boost::asio::io_context io_;
  ScriptedService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::shared_ptr<GrpcBidiStream> stream_;
  std::vector<weft::v1::DiscoveryResponse> responses_;
  std::optional<GrpcStatus> closed_;
  int closed_count_ = 0;
};

TEST_F(GrpcBidiStreamTest, ExchangesMessagesAndReportsTheStatusFromTrailers) {
  std::mutex mutex;
  std::vector<std::string> requested;
  std::string authorization;
  service_.script = [&](grpc::ServerContext* context, Stream* stream) {
    {
      std::lock_guard lock(mutex);
      auto found = context->client_metadata().find("authorization");
      if (found != context->client_metadata().end()) {
        authorization.assign(found->second.data(), found->second.size());
      }
    }
    weft::v1::DiscoveryRequest request;
    for (int i = 0; i < 2 && stream->Read(&request); ++i) {
      {
        std::lock_guard lock(mutex);
        requested.push_back(request.type_url());
      }
      weft::v1::DiscoveryResponse response;
      response.set_type_url(request.type_url());
      response.set_version_info("v" + std::to_string(i));
      stream->Write(response);
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "going away: 100% done");
  };
  GrpcCallOptions call_options = options();
  call_options.token = "secret-token";
  open(call_options);
  // Sent before the connection is up: queued.
  sendRequest("type/A");
  runUntil([&] { return responses_.size() == 1; });
  sendRequest("type/B");
  runUntil([&] { return closed_.has_value(); });
  ASSERT_EQ(responses_.size(), 2u);
  EXPECT_EQ(responses_[0].version_info(), "v0");
  EXPECT_EQ(responses_[1].type_url(), "type/B");
  EXPECT_EQ(closed_->code, 14);
  EXPECT_EQ(closed_->message, "going away: 100% done");  // percent-encoded on the wire
  std::lock_guard lock(mutex);
  EXPECT_EQ(requested, (std::vector<std::string>{"type/A", "type/B"}));
  EXPECT_EQ(authorization, "Bearer secret-token");
  // on_closed runs once.
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(closed_count_, 1);
}

TEST_F(GrpcBidiStreamTest, ALargeResponseArrivesWhole) {
  const std::string big(6 << 20, 'r');  // beyond every default HTTP/2 window
  service_.script = [&](grpc::ServerContext*, Stream* stream) {
    weft::v1::DiscoveryRequest request;
    stream->Read(&request);
    weft::v1::DiscoveryResponse response;
    response.set_version_info(big);
    stream->Write(response);
    weft::v1::DiscoveryRequest more;
    stream->Read(&more);  // until the client goes
    return grpc::Status::OK;
  };
  open(options());
  sendRequest("type/A");
  runUntil([&] { return !responses_.empty() || closed_.has_value(); });
  ASSERT_EQ(responses_.size(), 1u) << (closed_ ? closed_->message : "");
  EXPECT_EQ(responses_[0].version_info().size(), big.size());
}

TEST_F(GrpcBidiStreamTest, AResponseOverTheLimitEndsTheCall) {
  service_.script = [&](grpc::ServerContext*, Stream* stream) {
    weft::v1::DiscoveryRequest request;
    stream->Read(&request);
    weft::v1::DiscoveryResponse response;
    response.set_version_info(std::string(4096, 'x'));
    stream->Write(response);
    stream->Read(&request);
    return grpc::Status::OK;
  };
  GrpcCallOptions call_options = options();
  call_options.max_message_bytes = 1024;
  open(call_options);
  sendRequest("type/A");
  runUntil([&] { return closed_.has_value(); });
  EXPECT_TRUE(responses_.empty());
  EXPECT_EQ(closed_->code, 13);
  EXPECT_THAT(closed_->message, HasSubstr("more than the limit of 1024"));
}

TEST_F(GrpcBidiStreamTest, AnUnknownMethodIsUnimplemented) {
  GrpcCallOptions call_options = options();
  call_options.path = "/weft.v1.AggregatedDiscoveryService/NoSuchMethod";
  open(call_options);
  runUntil([&] { return closed_.has_value(); });
  EXPECT_EQ(closed_->code, 12);
}

TEST_F(GrpcBidiStreamTest, NobodyListeningIsUnavailable) {
  // A port that was just free: bound, then closed.
  boost::asio::ip::tcp::acceptor probe(io_, {boost::asio::ip::make_address("127.0.0.1"), 0});
  GrpcCallOptions call_options = options();
  call_options.port = probe.local_endpoint().port();
  probe.close();
  open(call_options);
  runUntil([&] { return closed_.has_value(); });
  EXPECT_EQ(closed_->code, 14);
  EXPECT_THAT(closed_->message, HasSubstr("cannot connect to 127.0.0.1:"));
}

TEST_F(GrpcBidiStreamTest, APeerThatStopsAnsweringIsFoundByKeepalive) {
  // Accepts the connection, then reads and never answers (a control plane on a dead node).
  boost::asio::ip::tcp::acceptor silent(io_, {boost::asio::ip::make_address("127.0.0.1"), 0});
  boost::asio::ip::tcp::socket accepted(io_);
  std::array<char, 4096> sink{};
  std::function<void()> drain = [&] {
    accepted.async_read_some(boost::asio::buffer(sink),
                             [&](const boost::system::error_code& error, size_t) {
                               if (!error) {
                                 drain();
                               }
                             });
  };
  silent.async_accept(accepted, [&](const boost::system::error_code& error) {
    if (!error) {
      drain();
    }
  });
  GrpcCallOptions call_options = options();
  call_options.port = silent.local_endpoint().port();
  call_options.keepalive_interval = std::chrono::milliseconds(100);
  call_options.keepalive_timeout = std::chrono::milliseconds(200);
  open(call_options);
  runUntil([&] { return closed_.has_value(); });
  EXPECT_EQ(closed_->code, 14);
  EXPECT_THAT(closed_->message, HasSubstr("did not answer a keepalive ping"));
}

TEST_F(GrpcBidiStreamTest, CancelEndsTheCallWithoutCallingBack) {
  std::atomic<bool> cancelled_seen{false};
  service_.script = [&](grpc::ServerContext* context, Stream* stream) {
    weft::v1::DiscoveryRequest request;
    while (stream->Read(&request)) {
      weft::v1::DiscoveryResponse response;
      stream->Write(response);
    }
    cancelled_seen = context->IsCancelled();
    return grpc::Status::OK;
  };
  open(options());
  sendRequest("type/A");
  runUntil([&] { return !responses_.empty(); });
  stream_->cancel();
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!cancelled_seen && std::chrono::steady_clock::now() < deadline) {
    io_.run_for(std::chrono::milliseconds(10));
    io_.restart();
  }
  EXPECT_TRUE(cancelled_seen);
  EXPECT_FALSE(closed_.has_value());
}

}  // namespace
}  // namespace weft::proxy::xds
