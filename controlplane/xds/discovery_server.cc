#include "controlplane/xds/discovery_server.h"

#include <boost/asio/post.hpp>

#include "common/log/logger.h"
#include "controlplane/xds/discovery_stream.h"

namespace weft::controlplane {

namespace {

spdlog::logger& xdsLog() {
  static spdlog::logger& logger = weft::log::logger("xds");
  return logger;
}

using SotwStream = DiscoveryStream<weft::v1::DiscoveryRequest, weft::v1::DiscoveryResponse>;
using DeltaStream =
    DiscoveryStream<weft::v1::DeltaDiscoveryRequest, weft::v1::DeltaDiscoveryResponse>;

}  // namespace

DiscoveryServer::DiscoveryServer(boost::asio::io_context& loop, std::string control_plane_id,
                                 std::shared_ptr<XdsMetrics> metrics)
    : loop_(loop), control_plane_id_(std::move(control_plane_id)), metrics_(std::move(metrics)) {}

DiscoveryServer::~DiscoveryServer() = default;

grpc::ServerBidiReactor<weft::v1::DiscoveryRequest, weft::v1::DiscoveryResponse>*
DiscoveryServer::StreamResources(grpc::CallbackServerContext* context) {
  auto* stream = new SotwStream(*this, nextStreamId());
  stream->start(*this, context->peer());
  return stream;
}

grpc::ServerBidiReactor<weft::v1::DeltaDiscoveryRequest, weft::v1::DeltaDiscoveryResponse>*
DiscoveryServer::DeltaResources(grpc::CallbackServerContext* context) {
  auto* stream = new DeltaStream(*this, nextStreamId());
  stream->start(*this, context->peer());
  return stream;
}

SessionEvents DiscoveryServer::sessionEvents(uint64_t id) {
  SessionEvents events;
  if (metrics_) {
    events.on_push = [this](ResourceType type) { metrics_->pushed(type); };
    events.on_ack = [this](ResourceType type, std::chrono::steady_clock::time_point changed) {
      metrics_->converged(type, changed);
    };
  }
  events.on_nack = [this, id](ResourceType type, const weft::v1::ErrorDetail& error) {
    if (metrics_) {
      metrics_->nacked(type, error);
    }
    auto found = connections_.find(id);
    const std::string proxy =
        found != connections_.end() ? found->second.node().id() : std::to_string(id);
    xdsLog().warn("proxy {} rejected {} (code {}): resource '{}' field '{}': {}", proxy,
                  shortName(type), error.code(), error.resource_name(), error.field(),
                  error.message());
  };
  return events;
}

void DiscoveryServer::addConnection(uint64_t id, Connection connection) {
  connection.connected_at = std::chrono::system_clock::now();
  if (metrics_) {
    metrics_->streamOpened();
  }
  connections_.emplace(id, std::move(connection));
}

void DiscoveryServer::addConnectionOnLoop(uint64_t id, std::string peer,
                                          std::function<void(grpc::Status)> finish,
                                          std::function<void(Connection&)> make_session) {
  boost::asio::post(loop_, [this, id, peer = std::move(peer), finish = std::move(finish),
                            make_session = std::move(make_session)]() mutable {
    Connection connection;
    connection.peer = std::move(peer);
    connection.finish = std::move(finish);
    make_session(connection);
    addConnection(id, std::move(connection));
  });
}

void DiscoveryServer::streamStarted(uint64_t id, std::string peer,
                                    std::function<void(grpc::Status)> finish,
                                    SotwSession::Send send) {
  addConnectionOnLoop(id, std::move(peer), std::move(finish),
                      [this, id, send = std::move(send)](Connection& connection) mutable {
                        connection.sotw = std::make_unique<SotwSession>(
                            control_plane_id_, std::move(send), sessionEvents(id));
                      });
}

void DiscoveryServer::streamStarted(uint64_t id, std::string peer,
                                    std::function<void(grpc::Status)> finish,
                                    DeltaSession::Send send) {
  addConnectionOnLoop(id, std::move(peer), std::move(finish),
                      [this, id, send = std::move(send)](Connection& connection) mutable {
                        connection.delta = std::make_unique<DeltaSession>(
                            control_plane_id_, std::move(send), sessionEvents(id));
                      });
}

template <class Request>
void DiscoveryServer::handleRequest(uint64_t id, const Request& request) {
  auto found = connections_.find(id);
  if (found == connections_.end()) {
    return;
  }
  Connection& connection = found->second;
  const bool had_node = connection.hasNode();
  std::string error;
  if constexpr (std::is_same_v<Request, weft::v1::DiscoveryRequest>) {
    error = connection.sotw ? connection.sotw->onRequest(request)
                            : "a state-of-the-world request on a delta stream";
  } else {
    error = connection.delta ? connection.delta->onRequest(request)
                             : "a delta request on a state-of-the-world stream";
  }
  if (!error.empty()) {
    xdsLog().warn("stream {} from {} ended: {}", id, connection.peer, error);
    connection.finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, error));
    return;
  }
  if (!had_node && connection.hasNode()) {
    const weft::v1::Node& node = connection.node();
    xdsLog().info("proxy {} connected from {} (workload {}/{}, {})", node.id(), connection.peer,
                  node.namespace_(), node.workload_name(),
                  connection.sotw ? "state of the world" : "delta");
    // A proxy that connects after a change converges from its connection, not the change.
    compute(connection, std::chrono::steady_clock::now());
  }
}

void DiscoveryServer::requestReceived(uint64_t id, weft::v1::DiscoveryRequest request) {
  boost::asio::post(loop_,
                    [this, id, request = std::move(request)] { handleRequest(id, request); });
}

void DiscoveryServer::requestReceived(uint64_t id, weft::v1::DeltaDiscoveryRequest request) {
  boost::asio::post(loop_,
                    [this, id, request = std::move(request)] { handleRequest(id, request); });
}

void DiscoveryServer::streamEnded(uint64_t id) {
  boost::asio::post(loop_, [this, id] {
    auto found = connections_.find(id);
    if (found == connections_.end()) {
      return;
    }
    if (found->second.hasNode()) {
      xdsLog().info("proxy {} disconnected", found->second.node().id());
    }
    if (metrics_) {
      metrics_->streamClosed();
    }
    connections_.erase(found);
  });
}

void DiscoveryServer::compute(Connection& connection,
                              std::chrono::steady_clock::time_point changed_at) {
  if (!compute_ || !connection.hasNode()) {
    return;
  }
  connection.onResources(compute_(connection.node()), changed_at);
}

void DiscoveryServer::setConfiguration(ComputeForProxy compute_for_proxy,
                                       std::chrono::steady_clock::time_point changed_at) {
  const auto started = std::chrono::steady_clock::now();
  compute_ = std::move(compute_for_proxy);
  for (auto& [id, connection] : connections_) {
    compute(connection, changed_at);
  }
  if (metrics_) {
    metrics_->pushRound(std::chrono::steady_clock::now() - started);
  }
}

void DiscoveryServer::closeAll() {
  for (auto& [id, connection] : connections_) {
    connection.finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "control plane shutting down"));
  }
}

std::vector<StreamStatus> DiscoveryServer::status() const {
  std::vector<StreamStatus> out;
  for (const auto& [id, connection] : connections_) {
    StreamStatus status;
    status.stream_id = id;
    status.peer = connection.peer;
    status.delta = connection.delta != nullptr;
    status.node = connection.node();
    status.connected_at = connection.connected_at;
    for (ResourceType type : kPushOrder) {
      status.types[static_cast<size_t>(type)] = connection.state(type);
    }
    out.push_back(std::move(status));
  }
  return out;
}

}  // namespace weft::controlplane
